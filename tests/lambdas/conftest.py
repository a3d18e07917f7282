"""Lambda tests: Powertools settings the functions get from their environment, set before handlers import."""

import os

# X-Ray is not reachable in tests; Powertools then records nothing and needs no X-Ray SDK.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "genai-kit-test")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GenAiKit/Test")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
