"""`agenteval report`: one self-contained HTML file per run (summary, charts, comparison, drill-down)."""

from .html import default_report_path, embed_json, render_report, write_report
from .model import ReportData, SampleView, ScoreView, StepView, SuiteLookup, build_report_data, find_suite

__all__ = ["ReportData", "SampleView", "ScoreView", "StepView", "SuiteLookup", "build_report_data",
           "default_report_path", "embed_json", "find_suite", "render_report", "write_report"]
