"""The check every SDK script makes of a refused call: a CosServiceError with Tencent's fields."""
import sys

from qcloud_cos.cos_exception import CosServiceError


def expect_error(call, status, code, what):
    """Runs `call`, which must raise CosServiceError(status, code) with Tencent's error fields."""
    try:
        got = call()
    except CosServiceError as e:
        assert (e.get_status_code(), e.get_error_code()) == (status, code), \
            f"{what}: wanted {status} {code}, got {e.get_status_code()} {e.get_error_code()}: {e.get_origin_msg()!r}"
        assert e.get_error_msg() not in ("", "Unknown"), (what, e.get_origin_msg())
        assert e.get_resource_location() not in ("", "Unknown"), (what, e.get_origin_msg())
        assert e.get_request_id() not in ("", "Unknown"), (what, e.get_origin_msg())
        assert e.get_trace_id() not in ("", "Unknown"), (what, e.get_origin_msg())
        return e
    sys.exit(f"{what}: succeeded ({got!r}), wanted {status} {code}")
