"""Every envelope shape in the real recorded replies (trackly_pipeline_tests/tune/recorded)."""

import json

import pytest

from trackly_pipeline.tune import (
    TuneApiError,
    TuneAuthError,
    TuneInvalidNetworkError,
    TunePermissionError,
    TuneRateLimitError,
    TuneResponseError,
)
from trackly_pipeline.tune.envelope import error_message, is_paginated, page_of, parse_body, rows_of

from .conftest import RECORDED_DIR, recorded_body


def test_all_recordings_are_present():
    assert len(list(RECORDED_DIR.glob("*.json"))) == 23


def test_find_by_id_returns_the_record():
    data = parse_body(recorded_body("01"))
    assert data["Offer"]["id"] == "196"
    assert data["Offer"]["modified"] == -62169966000


def test_find_by_id_not_found_is_success_with_null_data():
    data = parse_body(recorded_body("02"))
    assert data is None
    assert rows_of(data) == []


def test_paginated_find_all():
    data = parse_body(recorded_body("04"))
    assert is_paginated(data)
    page = page_of(data)
    assert (page.number, page.page_count, page.total_count) == (1, 52, 104)
    assert [row["Offer"]["id"] for row in page.rows] == ["1", "3"]
    assert page.rows[1]["Offer"]["name"] == "Půjčka7"  # unicode escapes decoded


@pytest.mark.parametrize("prefix, ids", [("05", ["62"]), ("14", ["55632", "42018"]), ("16", ["73"])])
def test_unpaginated_id_keyed_object(prefix, ids):
    data = parse_body(recorded_body(prefix))
    assert not is_paginated(data)
    page = page_of(data)
    assert (page.number, page.page_count, page.total_count) == (1, 1, len(ids))
    assert [next(iter(row.values()))["id"] for row in page.rows] == ids


def test_unpaginated_with_contained_models_and_empty_contain_list():
    rows = rows_of(parse_body(recorded_body("07")))
    assert {row["Offer"]["id"] for row in rows} >= {"100", "1"}
    by_id = {row["Offer"]["id"]: row for row in rows}
    assert by_id["100"]["Country"] == []  # no contained rows -> a JSON list


def test_empty_paginated_result_is_a_list():
    data = parse_body(recorded_body("13"))
    page = page_of(data)
    assert data["data"] == []
    assert (page.page_count, page.total_count, page.rows) == (0, 0, [])


def test_empty_unpaginated_result_is_a_list():
    data = parse_body(recorded_body("15"))
    assert data == []
    page = page_of(data)
    assert (page.page_count, page.total_count, page.rows) == (0, 0, [])


def test_paginated_with_selected_fields():
    page = page_of(parse_body(recorded_body("19")))
    assert (page.page_count, page.total_count) == (49338, 49338)
    assert page.rows == [{"Conversion": {"datetime": "2016-02-29 09:20:59", "country_code": "CZ"}}]


@pytest.mark.parametrize("prefix", ["03", "09"])
def test_api_error_list_of_public_messages(prefix):
    body = json.loads(recorded_body(prefix))
    with pytest.raises(TuneApiError) as caught:
        parse_body(recorded_body(prefix))
    assert type(caught.value) is TuneApiError
    assert caught.value.message == body["response"]["errorMessage"]


@pytest.mark.parametrize("prefix", ["18", "20", "21", "22"])
def test_rate_limit_error_is_recognised(prefix):
    with pytest.raises(TuneRateLimitError) as caught:
        parse_body(recorded_body(prefix))
    assert "API usage exceeded rate limit" in caught.value.message


def test_rejected_credentials_have_no_status_and_errors_as_object():
    """Recording 23 is TUNE's reply to a wrong token with a valid network id: the error must not
    blame the network id alone."""
    with pytest.raises(TuneInvalidNetworkError) as caught:
        parse_body(recorded_body("23"))
    assert isinstance(caught.value, TuneAuthError)
    assert caught.value.message == (
        "TUNE rejected the network id or the token (it does not say which): Network id is not valid"
    )


@pytest.mark.parametrize(
    "message, expected",
    [
        ("NetworkToken is not valid", TuneAuthError),
        ("Invalid API token", TuneAuthError),
        ("API key does not have permission to access Report", TunePermissionError),
        ("API usage exceeded rate limit.  Configured: 50/10s window; Your usage: 51.", TuneRateLimitError),
        ("Network id is not valid", TuneInvalidNetworkError),
        ("Row id is negative", TuneApiError),
    ],
)
def test_error_classes_are_chosen_by_message(message, expected):
    body = json.dumps({"response": {"status": -1, "errors": [{"publicMessage": message}]}})
    with pytest.raises(TuneApiError) as caught:
        parse_body(body)
    assert type(caught.value) is expected
    assert caught.value.message.endswith(message)


@pytest.mark.parametrize(
    "response, message",
    [
        ({"status": 0, "errors": [{"err_msg": "old style"}]}, "old style"),
        ({"status": -1, "errors": {"err_msg": "object style"}, "errorMessage": None}, "object style"),
        ({"status": -1, "errors": [{"publicMessage": "a"}, {"publicMessage": "b"}], "errorMessage": "a"}, "a; b"),
        ({"status": -1}, "TUNE reported a failure without a message (status=-1)"),
        ({"data": {"x": 1}}, "TUNE reported a failure without a message (status=None)"),
    ],
)
def test_anything_but_status_1_is_a_failure(response, message):
    assert error_message(response) == message
    with pytest.raises(TuneApiError):
        parse_body(json.dumps({"response": response}))


@pytest.mark.parametrize("status", ["1", True, 1.0, None])
def test_status_must_be_the_integer_1(status):
    with pytest.raises(TuneApiError):
        parse_body(json.dumps({"response": {"status": status, "data": []}}))


@pytest.mark.parametrize(
    "body", ["", "<html>502 Bad Gateway</html>", '{"response": {"status": 1, "da', "[]", '{"x": 1}']
)
def test_malformed_replies_raise_a_response_error(body):
    with pytest.raises(TuneResponseError):
        parse_body(body)


def test_malformed_reply_snippet_is_short():
    with pytest.raises(TuneResponseError) as caught:
        parse_body("x" * 10_000)
    assert len(caught.value.message) < 400


def test_rows_must_be_objects():
    with pytest.raises(TuneResponseError):
        rows_of([1, 2])
    with pytest.raises(TuneResponseError):
        rows_of("text")


def test_report_rows_as_list_and_string_page_numbers():
    data = {"page": "2", "current": 0, "count": "3", "pageCount": "2", "data": [{"Stat": {"id": "3"}}]}
    page = page_of(data)
    assert (page.number, page.page_count, page.total_count) == (2, 2, 3)
    assert page.rows == [{"Stat": {"id": "3"}}]


def test_a_reply_cut_inside_the_echoed_token_leaves_none_of_it_in_the_error():
    """TUNE echoes the token; a malformed reply's error quotes the reply's start, cut short: by the
    network (a truncated reply) or by the quote's length limit."""
    token = "NETa8f3k2m9qZZ7"
    for padding in range(0, 260, 7):
        head = '{"request":{"Target":"' + "R" * padding + '","NetworkToken":"' + token + '",'
        for body in (head[:cut] for cut in range(len(head) - len(token) - 2, len(head) + 1)):
            with pytest.raises(TuneResponseError) as error:
                parse_body(body.encode())
            quoted = str(error.value)
            assert not any(token[:n] in quoted for n in range(4, len(token) + 1)), (padding, body, quoted)
