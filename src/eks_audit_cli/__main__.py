from eks_audit_cli.main import cli

cli()
