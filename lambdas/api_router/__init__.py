"""OpenAI-compatible chat API over Amazon Bedrock and the kit's SageMaker endpoints (Lambda runtime code)."""
