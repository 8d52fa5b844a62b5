"""berth's stand-in for the `inference-schema` package: decorators and parameter types."""
