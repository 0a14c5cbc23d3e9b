"""The operator CLI `eks-audit` (not shipped in the Lambda layer)."""
