# The obvious alternative to berth for a scikit-learn model: Python's own http.server (one thread
# per connection) around the same model and the same work as score.py.
# usage: handwritten_server.py MODEL_PKL  -> prints {"http": port} once listening
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib
import numpy as np

model = joblib.load(sys.argv[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response, without Nagle: a stock handler writes headers and body apart and
    # waits out the client's delayed ACK (40 ms a request), which would make the comparison unfair.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = json.dumps(model.predict_proba(np.array(json.loads(body)["data"])).tolist()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(json.dumps({"http": server.server_address[1]}), flush=True)
server.serve_forever()
