"""A finding's trace as the console shows it, in Chinese."""

from __future__ import annotations

from supervision.compliance.display import trace_view, value_zh


def test_values_read_in_chinese() -> None:
    assert value_zh(500000, "prepay.max_fen") == "5000.00元"
    assert value_zh(10800, "price_per_lesson_fen") == "108.00元"
    assert value_zh(["primary", "junior"], "restday.stages") == "小学、初中"
    assert value_zh("offline", "mode") == "线下（offline）"
    assert value_zh("bank_custody", "mode") == "银行托管（bank_custody）"
    assert value_zh(6, "weekday") == "周六"
    assert value_zh(True) == "是" and value_zh(None) == "（无）" and value_zh([]) == "（空）"
    table = {
        "offline": [{"max_class_size": 10, "base_fen": 7000}, {"max_class_size": None, "base_fen": 3500}],
        "online": [{"max_class_size": None, "base_fen": 2000}],
    }
    assert (
        value_zh(table, "price.base_fen") == "线下：10人及以下70.00元，更大班额35.00元；线上：不限班额20.00元"
    )


def test_trace_rows_name_parameters_levels_and_citations() -> None:
    trace = {
        "facts": {"courses[C1].mode": "offline", "courses[C1].lesson_minutes": 45},
        "parameters": [
            {
                "name": "time.offline_latest_end",
                "value": "20:30",
                "effective_from": "2022-02-08",
                "level": "440100",
                "citation": "教监管〔2022〕4号",
            }
        ],
        "comparison": "21:00 > 20:30",
    }
    view = trace_view(trace, {"national": "全国", "440100": "广州市"})
    assert view["facts"] == [
        {"field": "courses[C1].mode", "value": "线下（offline）"},
        {"field": "courses[C1].lesson_minutes", "value": "45"},
    ]
    [p] = view["parameters"]
    assert p["label"] == "线下培训最晚结束时间" and p["value"] == "20:30" and p["level"] == "广州市"
    assert p["citation"] == "教监管〔2022〕4号" and p["effective_from"] == "2022-02-08"
    assert view["comparison"] == "21:00 > 20:30"
