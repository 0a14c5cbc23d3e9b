"""IAM's policy simulator on the local cloud, which moto lacks (SimulatePrincipalPolicy raises
NotImplementedError there, a 500). The local cloud enforces no IAM policy: every call is allowed, so
the simulator answers `allowed` for every action asked, in the shape of the API reference
(iam/latest/APIReference/API_SimulatePrincipalPolicy.html: EvaluationResults of EvalActionName,
EvalResourceName, EvalDecision; IsTruncated)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape


def answer_simulation(body: bytes) -> bytes | None:
    """The XML answer to a SimulatePrincipalPolicy call, or None for any other IAM call."""
    form = parse_qs(body.decode(errors="replace"))
    if form.get("Action", [""])[0] != "SimulatePrincipalPolicy":
        return None
    actions = [
        values[0]
        for key, values in sorted(
            form.items(),
            key=lambda item: (
                int(item[0].rsplit(".", 1)[1]) if item[0].startswith("ActionNames.member.") else 0
            ),
        )
        if key.startswith("ActionNames.member.")
    ]
    results = "".join(
        f"<member><EvalActionName>{escape(action)}</EvalActionName><EvalResourceName>*</EvalResourceName>"
        "<EvalDecision>allowed</EvalDecision></member>"
        for action in actions
    )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{results}"
        "</EvaluationResults></SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    ).encode()
