"""eks-audit runtime library: what a cluster needs, and what flows through the pipeline.

Shared by the Lambda functions (through the layer), the operator CLI and the local cloud.
Only boto3/botocore are required at run time (the Lambda runtime provides them); orjson is
used when installed.
"""

__version__ = "0.1.0"
