"""The deploy's templates as CloudFormation receives them: shared by the CLI (`org package`) and the
local cloud (which deploys what AWS would), below both, importing neither."""
