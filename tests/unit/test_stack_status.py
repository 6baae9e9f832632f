"""The status table tells a service this configuration does not use apart from a failing one."""

from lakehouse.native.stack import ServiceStatus


def test_a_down_service_reads_not_used_only_when_the_configuration_does_not_need_it() -> None:
    assert ServiceStatus("minio", None, "http://localhost:9000", False, used=False).state == (
        "not used"
    )
    assert ServiceStatus("kafka", None, "localhost:9092", False).state == "no"
    assert ServiceStatus("minio", 42, "http://localhost:9000", True, used=False).state == "yes"
