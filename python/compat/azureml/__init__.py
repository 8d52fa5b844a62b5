"""berth's stand-in for the parts of the Azure ML SDK that scoring scripts import."""
