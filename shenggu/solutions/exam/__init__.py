"""Classroom and exam oral scoring: an exam of reading items, students' recordings scored in batch, reports."""

from shenggu.solutions.exam.exam import Exam, ExamItem, load_exam
from shenggu.solutions.exam.reports import write_reports
from shenggu.solutions.exam.scoring import ItemResult, StudentResult, score_class, score_student

__all__ = [
    "Exam",
    "ExamItem",
    "ItemResult",
    "StudentResult",
    "load_exam",
    "score_class",
    "score_student",
    "write_reports",
]
