"""The local cloud: moto plus the overlays that make it behave like AWS where eks-audit depends on it."""
