"""The evaluator rule by rule, with the examples of AWS's filter pattern documentation."""

import json

import pytest

from eks_audit.constants import STANDARD_FILTER_PATTERN
from eks_audit.filter_pattern import PatternError, compile_pattern
from eks_audit.filter_pattern.delimited import split_fields

# The JSON examples of AWS's "Filter pattern syntax" page.
DOC_EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
DOC_COMPOUND = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)


def matches(pattern: str, message: str) -> bool:
    return compile_pattern(pattern).matches(message)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
        "{ $.eventType = Update* }",
        "{ $.eventType = *Trail }",
        "{ $.eventType = *dateTr* }",
        "{ $.objectList[0].name = a || $.eventType = nothing }",
    ],
)
def test_documented_json_examples_match(pattern):
    assert matches(pattern, DOC_EVENT)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "updatetrail" }',  # case-sensitive
        "{ $.sourceIPAddress != 111.111.* }",
        "{ $.arrayKey[2] = value }",  # out of range
        "{ $.eventType[0] = U }",  # not an array
        "{ $.objectList[1].id = 3 }",
        "{ $.ThisFlag IS FALSE }",
        "{ $.SomeObject NOT EXISTS }",  # present as null
        "{ $.eventType IS NULL }",
        "{ $.eventType = Up*Trail }",  # a '*' inside a value is a literal
    ],
)
def test_documented_json_examples_near_misses(pattern):
    assert not matches(pattern, DOC_EVENT)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch '
            "&& $.actions[2] = nomatch }",
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
            "&& $.actions[2] = nomatch }",
            False,
        ),
        ("{ $.coordinates[2][0] = 7 }", True),
    ],
)
def test_documented_compound_examples_and_precedence(pattern, expected):
    assert matches(pattern, DOC_COMPOUND) is expected


@pytest.mark.parametrize("operator", ["=", "!="])
def test_selector_reaching_an_object_or_array_never_matches(operator):
    message = json.dumps({"users": [1, 2, 3], "user": {"id": 1}})
    assert not matches(f"{{ $.users {operator} 1 }}", message)
    assert not matches(f"{{ $.user {operator} 1 }}", message)


def test_not_equal_on_a_missing_field_does_not_match():
    assert not matches('{ $.requestURI != "/healthz" }', json.dumps({"stage": "ResponseComplete"}))
    assert matches('{ $.requestURI != "/healthz" || $.requestURI NOT EXISTS }', json.dumps({"stage": "x"}))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{ $.latency >= 500 }", True),
        ("{ $.latency > +1000 }", False),
        ("{ $.latency < 10e3 }", True),
        ("{ $.small < 10e-3 }", True),
        ("{ $.small > 1E-4 }", True),
        ("{ $.runtime <= 55.5 }", True),
        ("{ $.runtime < 55.5 }", False),
        ("{ $.errorCode = 400 }", True),
        ("{ $.errorCode != 500 }", True),
        ("{ $.errorCode = 400.0 }", True),
        ("{ $.text > 1 }", False),  # a string never compares as a number
        ("{ $.flag > 0 }", False),  # nor does a boolean
        ("{ $.absent < 1 }", False),
        ("{ $.latency = * }", True),  # '*' alone matches any value
        ("{ $.absent = * }", False),
    ],
)
def test_numeric_comparisons(pattern, expected):
    message = json.dumps(
        {"latency": 700, "small": 0.001, "runtime": 55.5, "errorCode": 400, "text": "9", "flag": True}
    )
    assert matches(pattern, message) is expected


def test_quoted_values_keep_spaces_and_special_characters():
    message = json.dumps(
        {"user": {"username": "system:serviceaccount:kube-system:coredns"}, "msg": 'say "hi"'}
    )
    assert matches('{ $.user.username = "system:serviceaccount:*" }', message)
    assert matches(r'{ $.msg = "say \"hi\"" }', message)


def test_hyphen_and_underscore_in_selectors():
    assert matches("{ $.a-b.c_d = x }", json.dumps({"a-b": {"c_d": "x"}}))


def test_message_that_is_not_json_never_matches_a_json_pattern():
    assert not matches("{ $.a NOT EXISTS }", "plain text a=1")
    assert not matches("{ $.a NOT EXISTS }", '"just a JSON string"')
    assert not matches("{ $.a = 1 }", '{"a": 1')


def test_regex_values_and_standalone_regex():
    with pytest.raises(PatternError, match="not supported"):
        compile_pattern("{ $.verb = %^(get|list)$% }")  # AWS rejects ( ) in a regex
    assert matches("{ $.verb = %^[gl]i?[se]t$% }", json.dumps({"verb": "list"}))
    assert matches("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST")
    assert not matches("%^AUTH%", "[ERROR 401] UNAUTHORIZED REQUEST")


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("ERROR", "[ERROR] A fatal exception has occurred", True),
        ("ERROR", "Exiting with ERRORCODE: -1", True),
        ("ERROR", "error in lower case", False),
        ('"ERROR" -"Exiting"', "Exiting with ERRORCODE: -1", False),
        ('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1", False),
        ('"ERROR" -"Exiting"', "[ERROR] A fatal exception", True),
        ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", True),
        ("ERROR Exception", "[ERROR] Caught nothing", False),
        ("Failed to process the request", "[WARN] Failed to process the request", True),
        ('"Failed to process"', "[WARN] Failed to process the request", True),
        ('"to Failed"', "[WARN] Failed to process the request", False),
        ("?ERROR ?WARN", "WARN message", True),
        ("?ERROR ?WARN", "INFO message", False),
        ("ERROR -WARN", "ERROR message", True),
        ("ERROR -WARN", "ERROR WARN message", False),
        ("", "anything at all", True),
        ("   ", "", True),
    ],
)
def test_term_patterns(pattern, message, expected):
    assert matches(pattern, message) is expected


@pytest.mark.parametrize(
    ("pattern", "position", "problem"),
    [
        ("{ $.a = }", 8, "expected a value"),
        ("{ $.a = 1", 9, "expected '&&', '||' or '}'"),
        ('"abc', 0, "unterminated quoted string"),
        ("{ $.a < x }", 8, "needs a number"),
        ("{ a = 1 }", 2, "selector"),
        ("{ $.a IS NOT NULL }", 6, "NOT EXISTS"),
        ("{ $.a EXISTS }", 6, "operator"),
        ("{ ($.a = 1 }", 11, "expected ')'"),
        ("{ $. = 1 }", 4, "property name"),
        ("{ $.a[x] = 1 }", 5, "array index"),
        ("{ $ = 1 }", 2, "at least one property"),
        ("{ $.a = 1 } trailing", 12, "after '}'"),
        ("{ $.a = %[% }", 9, "regular expression"),
        ("ERROR ?", 7, "expected a term"),
    ],
)
def test_invalid_patterns_point_at_the_position(pattern, position, problem):
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.position == position
    assert problem in caught.value.problem
    assert f"position {position}" in str(caught.value)


def test_space_delimited_fields_group_brackets_and_quotes():
    fields = split_fields('a  [b c] "d e" f"g')
    assert [text for text, _ in fields] == ["a", "b c", "d e", 'f"g']
    assert compile_pattern("[x, y, z = %d e%, w]").matches('a  [b c] "d e" f"g')
    assert not compile_pattern("[x, y, z, w, v]").matches('a  [b c] "d e" f"g')  # fewer fields than named


def test_keywords_accept_any_case_and_parentheses():
    assert matches("{ ($.a is null) }", '{"a": null}')


def audit(uri: str, stage: str = "ResponseComplete", **extra) -> str:
    return json.dumps({"kind": "Event", "stage": stage, "requestURI": uri, "verb": "get", **extra})


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (audit("/api/v1/namespaces/default/pods"), True),
        (audit("/api/v1/namespaces/default/pods/web-0/exec?command=sh"), True),
        (audit("/api/v1/pods", stage="RequestReceived"), False),
        (audit("/api/v1/pods", stage="ResponseStarted"), False),
        (audit("/version"), False),
        (audit("/version?timeout=32s"), False),
        (audit("/versions"), True),
        (audit("/metrics"), False),
        (audit("/logs?x"), False),
        (audit("/swagger-2.0.0.pb-v1"), False),
        (audit("/livez"), False),
        (audit("/readyz?verbose"), False),
        (audit("/healthz/etcd"), False),
        (json.dumps({"stage": "ResponseComplete"}), False),  # no requestURI: != does not match
        ("[Truncated...] {", False),
    ],
)
def test_standard_pattern_on_audit_events(message, kept):
    assert compile_pattern(STANDARD_FILTER_PATTERN).matches(message) is kept


def test_matches_parsed_agrees_with_matches():
    pattern = compile_pattern(STANDARD_FILTER_PATTERN)
    for message in (audit("/api"), audit("/healthz")):
        assert pattern.matches_parsed(json.loads(message)) is pattern.matches(message)
    with pytest.raises(TypeError):
        compile_pattern("ERROR").matches_parsed({})
