"""Every example on AWS's filter pattern pages, with the answer the page states.

Sources (read through the search tool, November 2026):
- "Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail"
  (AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html), sections on regex, unstructured,
  JSON and space-delimited events;
- "Using filter patterns to match terms in JSON log events" (matching-terms-json-log-events.html);
- the archived version of the first page (awsdocs/amazon-cloudwatch-logs-user-guide), marked
  "archived", where it gives an answer the current page does not.
A case the page gives no event for uses the smallest event that the page's words decide.
"""

import json
import re

import pytest

from eks_audit.filter_pattern import PatternError, compile_pattern

UNSTRUCTURED = {
    400: "[ERROR 400] BAD REQUEST",
    401: "[ERROR 401] UNAUTHORIZED REQUEST",
    419: "[ERROR 419] MISSING ARGUMENTS",
    420: "[ERROR 420] INVALID ARGUMENTS",
}
JSON_EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "cluster.name": "c",
    }
)
COMPOUND_EVENT = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)
NUMERIC_EVENT = json.dumps(
    {"bandwidth": 80, "latency": 40, "refreshRate": 60, "responseTime": 5, "errorCode": 400, "number": [1000]}
)
APACHE = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
APACHE_ARCHIVED = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
SERVICE = [
    "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    "WARNING 09/25/2014 12:00:02 Invalid user request",
    "ERROR 09/25/2014 12:00:02 Failed to process request",
]

# (pattern, message, AWS's answer)
REGEX_EXAMPLES = [
    ("%^[hc]at%", "hat trick", True),
    ("%^[hc]at%", "a cat", False),  # "only at the beginning of a string"
    ("%[hc]at$%", "the cat", True),
    ("%[hc]at$%", "cat nap", False),
    ("%colou?r%", "color", True),
    ("%colou?r%", "colour", True),
    ("%[abc]%", "b", True),
    ("%[abc]%", "xyz", False),
    ("%[a-z]%", "q", True),
    ("%[a-z]%", "Q9", False),
    ("%[abcx-z]%", "y", True),
    ("%[abcx-z]%", "d", False),
    ("%a{3,5}%", "aaa", True),
    ("%a{3,5}%", "aa", False),
    ("%gra|ey%", "gray", True),
    ("%gra|ey%", "grey", True),
    ("%^starting|^initializing|^shutting down%", "starting the node", True),
    ("%^starting|^initializing|^shutting down%", "initializing ...", True),
    ("%^starting|^initializing|^shutting down%", "shutting down", True),
    ("%^starting|^initializing|^shutting down%", "skipping initializing ...", False),
    ("%\\[.\\]%", "[a]", True),
    ("%\\[.\\]%", "[7]", True),
    ("%\\[.\\]%", "[@]", True),
    ("%\\[.\\]%", "[]]", True),
    ("%\\[.\\]%", "[ ]", True),
    ("%\\[.\\]%", "[ab]", False),
    ("%10\\.10\\.0\\.1%", "10.10.0.1", True),
    ("%10\\.10\\.0\\.1%", "10010,051", False),
    ("%10.10.0.1%", "10010,051", True),  # the page's warning: '.' unescaped matches any character
    ("%ab*c%", "ac", True),
    ("%ab*c%", "abbbc", True),
    ("%ab[0-9]*%", "ab129", True),
    ("%ab+c%", "abbc", True),
    ("%ab+c%", "ac", False),
    ("%.at%", "hat", True),
    ("%.at%", " at", True),
    ("%\\d%", "7", True),
    ("%\\d%", "x", False),
    ("%\\D%", "x", True),
    ("%\\D%", "7", False),
    ("%\\s%", "a\tb", True),
    ("%\\s%", "ab", False),
    ("%\\S%", "  x ", True),
    ("%\\w%", "_", True),
    ("%\\w%", "!?", False),
    ("%\\W%", "!", True),
    ("%\\x3A%", "a:b", True),
    ("%\\x28%", "f(x)", True),
    ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", True),
]

UNSTRUCTURED_EXAMPLES = [
    *[("ERROR", message, True) for message in UNSTRUCTURED.values()],
    ("ERROR ARGUMENTS", UNSTRUCTURED[419], True),
    ("ERROR ARGUMENTS", UNSTRUCTURED[420], True),
    ("ERROR ARGUMENTS", UNSTRUCTURED[400], False),
    ("ERROR ARGUMENTS", UNSTRUCTURED[401], False),
    *[("?ERROR ?ARGUMENTS", message, True) for message in UNSTRUCTURED.values()],
    ("?ERROR ?ARGUMENTS", "[INFO] all good", False),
    # "If you combine ? with other filter patterns, all question mark terms will be ignored"
    ("?ERROR ?ARGUMENTS REQUEST", "[INFO] REQUEST FAILED", True),
    ("?ERROR ?ARGUMENTS REQUEST", "[WARN] UNAUTHORIZED REQUEST", True),
    ("?ERROR ?ARGUMENTS REQUEST", "[ERROR] 400 BAD REQUEST", True),
    ("?ERROR ?ARGUMENTS REQUEST", UNSTRUCTURED[419], False),
    ('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR", True),
    ('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL ERROR", False),
    ("ERROR -ARGUMENTS", UNSTRUCTURED[400], True),
    ("ERROR -ARGUMENTS", UNSTRUCTURED[401], True),
    ("ERROR -ARGUMENTS", UNSTRUCTURED[419], False),
    ("ERROR -ARGUMENTS", UNSTRUCTURED[420], False),
    ('" "', "anything", True),  # "Match everything"
    ('" "', "nospaces", True),
    ('" "', "", True),
    # archived page: ERROR matches ERRORCODE; "ERROR" - "Exiting" excludes the second line
    ("ERROR", "Exiting with ERRORCODE: -1", True),
    ('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1", False),
    ('"ERROR" - "Exiting"', "[ERROR] A fatal exception has occurred", True),
]

JSON_EXAMPLES = [
    ('{ $.eventType = "UpdateTrail" }', JSON_EVENT, True),
    ("{ $.sourceIPAddress != 123.123.* }", JSON_EVENT, True),
    ('{ $.arrayKey[0] = "value" }', JSON_EVENT, True),
    ("{ $.eventType = %Trail% }", JSON_EVENT, True),
    ("{ $.arrayKey[*] = %val.{2}% }", JSON_EVENT, True),
    ("{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", JSON_EVENT, True),
    ("{ $.['cluster.name'] = \"c\" }", JSON_EVENT, True),
    ("{ $.SomeObject IS NULL }", JSON_EVENT, True),
    ("{ $.SomeOtherObject NOT EXISTS }", JSON_EVENT, True),
    ("{ $.bandwidth > 75 }", NUMERIC_EVENT, True),
    ("{ $.latency < 50 }", NUMERIC_EVENT, True),
    ("{ $.refreshRate >= 60 }", NUMERIC_EVENT, True),
    ("{ $.responseTime <= 5 }", NUMERIC_EVENT, True),
    ("{ $.errorCode = 400}", NUMERIC_EVENT, True),
    ("{ $.errorCode != 500 }", NUMERIC_EVENT, True),
    ("{ $.number[0] = 1e+3 }", NUMERIC_EVENT, True),
    ("{ $.number[0] != 1e-3 }", NUMERIC_EVENT, True),
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', COMPOUND_EVENT, True),
    (
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" '
        '&& $.actions[2] = "nonmatch" }',
        COMPOUND_EVENT,
        True,
    ),
    (
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") '
        '&& $.actions[2] = "nonmatch" }',
        COMPOUND_EVENT,
        False,
    ),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', COMPOUND_EVENT, False),
    # archived page: selectors that reach an array or object match with neither = nor !=
    ("{ $.users = 1 }", json.dumps({"users": [1, 2, 3]}), False),
    ("{ $.users != 1 }", json.dumps({"users": [1, 2, 3]}), False),
    ("{ $.objectList[1].id = 2 }", JSON_EVENT, True),
]

DELIMITED_EXAMPLES = [
    (
        "[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
        APACHE,
        True,
    ),
    ("[..., request =*.html*, status_code = 4*, bytes]", APACHE, True),
    (
        "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
        APACHE,
        True,
    ),
    ("[w1=ERROR, w2]", SERVICE[0], False),
    ("[w1=ERROR, w2]", SERVICE[2], False),
    ("[w1=ERROR, w2]", SERVICE[3], True),
    ("[w1=ERROR || w1=WARNING, w2]", SERVICE[0], False),
    ("[w1=ERROR || w1=WARNING, w2]", SERVICE[2], True),
    ("[w1=ERROR || w1=WARNING, w2]", SERVICE[3], True),
    ("[w1!=ERROR && w1!=WARNING, w2]", SERVICE[0], True),
    ("[w1!=ERROR && w1!=WARNING, w2]", SERVICE[1], True),
    ("[w1!=ERROR && w1!=WARNING, w2]", SERVICE[2], False),
    ("[w1!=ERROR && w1!=WARNING, w2]", SERVICE[3], False),
    *[
        ("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", line, i == 0)
        for i, line in enumerate(SERVICE)
    ],
    *[
        (
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]",
            line,
            i == 1,
        )
        for i, line in enumerate(SERVICE)
    ],
    # archived page: the trailing empty place is a seventh field ("$7": "1534")
    ("[..., request=*.html*, status_code=4*,]", APACHE_ARCHIVED, True),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", APACHE_ARCHIVED, False),
    ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", APACHE_ARCHIVED, True),
    ("[ip, user, ..., status_code, bytes]", APACHE_ARCHIVED, True),
]

# Patterns the pages say CloudWatch Logs refuses.
INVALID = [
    ("%something!%", "'!' is not supported"),  # the page's own example
    ("%^(get|list)$%", "'(' and ')'"),
    ("%caf\u00e9%", "multi-byte"),
    ("{ $.a = %x% || $.b = %y% || $.c = %z% }", "more than 2 regular expressions"),
    ("[a=%x%, b=%y%, c=%z%]", "more than 2 regular expressions"),
    ("{ $.a[*].* = 1 }", "only one wildcard selector"),
    ("{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }", "more than 3 wildcard selectors"),
    ("{ $.SomeObject IS NOT NULL }", "IS NOT"),
    ("{ $.SomeObject EXISTS }", "operator"),
]


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    REGEX_EXAMPLES + UNSTRUCTURED_EXAMPLES + JSON_EXAMPLES + DELIMITED_EXAMPLES,
)
def test_every_documented_example_gets_aws_answer(pattern, message, expected):
    assert compile_pattern(pattern).matches(message) is expected


@pytest.mark.parametrize(("pattern", "problem"), INVALID)
def test_what_aws_refuses_is_refused(pattern, problem):
    with pytest.raises(PatternError, match=re.escape(problem)):
        compile_pattern(pattern)


def test_two_regular_expressions_and_three_wildcards_are_within_the_quotas():
    assert compile_pattern("{ $.a = %x% || $.b = %y% }").matches('{"a": "x"}')
    pattern = compile_pattern("{ $.a[*] = 1 || $.b[*] = 2 || $.* = 3 }")
    assert pattern.matches('{"b": [0, 2]}')
    assert not pattern.matches('{"a": [0, 2]}')


def test_bracket_notation_nests_and_reaches_audit_annotations():
    event = json.dumps(
        {
            "annotations": {"authorization.k8s.io/decision": "allow"},
            "objectRef": {"resource": "pods"},
            "cluster.name": {"region": "eu-west-1"},
        }
    )
    assert compile_pattern("{ $.annotations.['authorization.k8s.io/decision'] = \"allow\" }").matches(event)
    assert compile_pattern("{ $.['cluster.name'].region = \"eu-west-1\" }").matches(event)
    assert compile_pattern("{ $['objectRef']['resource'] = pods }").matches(event)
    assert not compile_pattern("{ $.annotations.['authorization.k8s.io/reason'] = * }").matches(event)


def test_wildcards_match_when_any_value_matches_and_not_exists_when_none():
    event = json.dumps({"users": [{"id": 2}, {"id": 3}], "tags": {"a": "x", "b": "y"}})
    assert compile_pattern("{ $.users[*].id = 3 }").matches(event)
    assert not compile_pattern("{ $.users[*].id = 4 }").matches(event)
    assert compile_pattern("{ $.tags.* = y }").matches(event)
    assert compile_pattern("{ $.users[*].name NOT EXISTS }").matches(event)
    assert not compile_pattern("{ $.users[*].id NOT EXISTS }").matches(event)
