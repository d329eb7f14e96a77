"""Per-tenant FAQ knowledge bases: the file formats (CSV, TSV, XLSX, Markdown) and their round trips, versioned
storage, the /v1/knowledge-bases API (tenant isolation, clear errors) and the `shenggu kb` CLI."""

from __future__ import annotations

import io

import openpyxl
import pytest
from typer.testing import CliRunner

from shenggu.config import Settings, get_settings
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq import files
from shenggu.nlp.faq.types import EntryText, KbEntry, KnowledgeBase
from shenggu.service.app import create_app
from shenggu.service.storage import knowledge, tenants
from shenggu.service.storage.db import Database, default_url
from shenggu.service.storage.tenants import NotFoundError
from tests.servers import call_as, running_server, tenant_keys

# Chinese and English versions of one entry share an id; answers hold commas, quotes, line breaks, Markdown
# headings, a leading "=" (never a spreadsheet formula) and backslashes; one row has no id, one no language.
SAMPLE_CSV = """id,question,alternatives,answer,category,language
kb-1,怎么开通微粒贷？,微粒贷怎么开通 | 如何开通微粒贷,"微粒贷目前采用邀请制，
受邀用户可在微信「钱包」中看到入口。

## 这不是标题
""引号"", 逗号, 和 \\反斜杠",开户,zh
kb-1,How do I open Weilidai?,"How to activate Weilidai
Weilidai sign-up","It is by invitation: invited users see it under Wallet, in WeChat.",开户,en
kb-2,借款1万用10个月的利息是多少,利息怎么算|日利率是多少,=0.05% 每天 × 天数,利率,
,What's the fee for early repayment? 😀,,"- none
id: not metadata
# not a heading",fees,en
kb-4,繁體中文的問題,,,,zh
"""


def sample() -> KnowledgeBase:
    return files.parse_kb(SAMPLE_CSV.encode(), "csv", "sample.csv")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=0, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "bank", "other")
    with running_server(app) as base:
        yield base, keys


def call(server, tenant, method, path, **kwargs):
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def upload(server, tenant, name, data: bytes, filename: str, **fields):
    return call(server, tenant, "PUT", f"/v1/knowledge-bases/{name}", files={"file": (filename, data)}, data=fields)


def entries_of(payload: dict) -> KnowledgeBase:
    return KnowledgeBase([KbEntry.from_dict(e) for e in payload["entries"]])


# ---------------------------------------------------------------- files


def test_sample_is_read_as_expected():
    kb = sample()
    assert [e.id for e in kb.entries] == [
        "kb-1",
        "kb-2",
        files.generated_id("What's the fee for early repayment? 😀"),
        "kb-4",
    ]
    first = kb.entries[0]
    assert set(first.texts) == {"zh", "en"} and first.category == "开户"
    assert first.texts["zh"].alternatives == ["微粒贷怎么开通", "如何开通微粒贷"]
    assert first.texts["en"].alternatives == ["How to activate Weilidai", "Weilidai sign-up"]
    assert first.texts["zh"].answer.endswith('"引号", 逗号, 和 \\反斜杠')
    assert list(kb.entries[1].texts) == ["zh"]  # language detected from the question
    assert kb.entries[1].texts["zh"].answer == "=0.05% 每天 × 天数"
    assert kb.entries[3].texts["zh"] == EntryText("繁體中文的問題")


@pytest.mark.parametrize("fmt", files.FORMATS)
def test_every_format_round_trips_exactly(fmt):
    kb = sample()
    data = files.dump_kb(kb, fmt)
    back = files.parse_kb(data, fmt, f"kb.{fmt}")
    assert back == kb
    assert files.parse_kb(files.dump_kb(back, fmt), fmt, f"again.{fmt}") == kb


def test_chinese_headers_alternatives_by_line_and_xlsx_cells():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编号", "问题", "相似问法", "答案", "分类", "语言", "备注"])
    sheet.append([7, "你好吗", "你好\n您好", "好", "问候", "中文", "ignored"])
    sheet.append([7, "How are you", None, 3.5, "问候", "English", None])
    out = io.BytesIO()
    workbook.save(out)
    kb = files.parse_kb(out.getvalue(), "xlsx", "greetings.xlsx")
    assert kb == KnowledgeBase(
        [
            KbEntry(
                "7",
                {"zh": EntryText("你好吗", ["你好", "您好"], "好"), "en": EntryText("How are you", [], "3.5")},
                "问候",
            )
        ]
    )


def test_markdown_as_written_by_hand():
    text = """# 常见问题

Notes before the first heading are ignored.

## 怎么还款？
编号：pay-1
分类：还款
> 相似问法：
- 如何还款
- 还款方式

在 App 里点击「还款」。

## How do I repay?
id: pay-1
language: en
alternatives: repayment | pay back
Tap "Repay" in the app.
### Steps
1. Open the app
"""
    kb = files.parse_kb(text.encode(), "md", "faq.md")
    (entry,) = kb.entries
    assert entry.id == "pay-1" and entry.category == "还款"
    assert entry.texts["zh"] == EntryText("怎么还款？", ["如何还款", "还款方式"], "在 App 里点击「还款」。")
    assert entry.texts["en"] == EntryText(
        "How do I repay?", ["repayment", "pay back"], 'Tap "Repay" in the app.\n### Steps\n1. Open the app'
    )


def test_eval_kb_tsv_imports(eval_dir):
    kb = files.read_kb(eval_dir / "faq" / "kb.tsv")
    assert len(kb.entries) == 300
    first = kb.entries[0]
    assert first.id == "kb-bq-0001" and first.category.startswith("banking customer service")
    assert first.texts["zh"].question == "我在钱包那里怎么看不到微粒贷的呢？" and first.texts["zh"].answer == ""
    assert files.parse_kb(files.dump_kb(kb, "xlsx"), "xlsx", "kb.xlsx") == kb


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", "csv", "kb.csv is empty"),
        (b"foo,bar\n1,2\n", "csv", "no question column (found 'foo', 'bar'"),
        (b"question,language\nhello,fr\n", "csv", "kb.csv line 2, column 'language': unknown language 'fr'"),
        ("问题,答案\n你好,世界\n".encode("gbk"), "csv", "kb.csv is not UTF-8 text"),
        (b"id,question,language\n1,a,en\n1,b,en\n", "csv", "kb.csv line 3: id '1' already has a row"),
        ("问题,答案\n,世界\n".encode(), "csv", "kb.csv line 2: empty question (column '问题')"),
        (b"question\n", "csv", "kb.csv has no entries"),
        (b'question,answer\n"open quote,x\n', "csv", "malformed CSV"),
        (b"PK\x03\x04 not really a zip", "xlsx", "kb.xlsx is not a readable XLSX workbook"),
        (b"just text, no headings", "md", "no '## question' headings"),
        (b"## q\nlanguage: xx\n", "md", "unknown language 'xx'"),
        (("question\n" + "".join(f"q{i}\n" for i in range(files.MAX_ENTRIES + 1))).encode(), "csv", "more than 20000"),
    ],
)
def test_malformed_files_name_the_problem(data, fmt, message):
    with pytest.raises(InvalidOptionError) as error:
        files.parse_kb(data, fmt, f"kb.{fmt}")
    assert message in str(error.value)


def test_format_from_extension():
    assert files.format_of("a.CSV") == "csv" and files.format_of("a.markdown") == "md"
    assert files.format_of("a.txt", "tsv") == "tsv"
    for name, fmt in (("a.xls", None), ("a.docx", None), ("a.csv", "pdf")):
        with pytest.raises(InvalidOptionError):
            files.format_of(name, fmt)


# ---------------------------------------------------------------- storage


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(default_url(tmp_path / "data"))
    database.migrate()
    return database


def test_migration_matches_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shenggu.service.storage.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "knowledge" in repr(d)] == []


def test_versions_are_append_only_and_numbers_never_reused(db):
    kb = sample()
    smaller = KnowledgeBase(kb.entries[:2])
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id
        assert knowledge.create_version(session, tenant_id, "faq", kb, "a.csv")[1] is None
        assert knowledge.create_version(session, tenant_id, "faq", smaller, "b.csv")[1] == 1
    with db.session() as session:
        first = knowledge.active(session, tenant_id, "faq")
        assert (first.name, first.version, first.kb) == ("faq", 2, smaller)
        assert knowledge.active(session, tenant_id, "faq").kb is first.kb  # cached by version
        row, previous = knowledge.activate(session, tenant_id, "faq", 1)
        assert (row.version, row.restored_from, previous) == (3, 1, 2)
    with db.session() as session:
        assert knowledge.active(session, tenant_id, "faq").kb == kb
        assert [v.version for v in knowledge.list_versions(session, tenant_id, "faq")] == [3, 2, 1]
        knowledge.delete_base(session, tenant_id, "faq")
    with db.session() as session:
        with pytest.raises(NotFoundError):
            knowledge.active(session, tenant_id, "faq")
        assert knowledge.list_bases(session, tenant_id) == []
        row, previous = knowledge.create_version(session, tenant_id, "faq", smaller, "c.csv")
        assert (row.version, previous) == (4, None)  # a cached index for (tenant, faq, 1..3) can never be stale
        assert [v.version for v in knowledge.list_versions(session, tenant_id, "faq")] == [4]


# ---------------------------------------------------------------- API


@pytest.mark.slow
def test_import_export_round_trip_through_the_api(server):
    kb = sample()
    put = upload(server, "bank", "faq", SAMPLE_CSV.encode(), "sample.csv", note="first import")
    assert put.status_code == 201, put.text
    assert put.json() | {"created_at": None} == {
        "name": "faq",
        "version": 1,
        "entry_count": 4,
        "created_at": None,
        "source": "sample.csv",
        "note": "first import",
        "restored_from": None,
        "previous_version": None,
    }
    got = call(server, "bank", "GET", "/v1/knowledge-bases/faq")
    assert got.status_code == 200 and got.json()["total"] == 4
    assert entries_of(got.json()) == kb
    media = {"csv": "text/csv", "tsv": "text/tab-separated-values", "xlsx": "spreadsheetml", "md": "text/markdown"}
    for fmt in files.FORMATS:
        export = call(server, "bank", "GET", f"/v1/knowledge-bases/faq/export?format={fmt}")
        assert export.status_code == 200, export.text
        assert media[fmt] in export.headers["content-type"]
        assert f'filename="faq-v1.{fmt}"' in export.headers["content-disposition"]
        assert files.parse_kb(export.content, fmt, f"faq.{fmt}") == kb
    again = upload(server, "bank", "faq-copy", export.content, "faq.md")  # the Markdown export, imported
    assert again.status_code == 201
    assert entries_of(call(server, "bank", "GET", "/v1/knowledge-bases/faq-copy").json()) == kb
    names = [b["name"] for b in call(server, "bank", "GET", "/v1/knowledge-bases").json()["data"]]
    assert {"faq", "faq-copy"} <= set(names)


@pytest.mark.slow
def test_versions_through_the_api(server):
    first = upload(server, "bank", "rates", SAMPLE_CSV.encode(), "v1.csv")
    assert first.status_code == 201
    second = call(
        server,
        "bank",
        "PUT",
        "/v1/knowledge-bases/rates",
        json={"entries": [{"question": "利率是多少", "answer": "年化 3.6%"}], "note": "just one"},
    )
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["previous_version"]) == (2, 1)
    assert [
        e["texts"]["zh"]["question"] for e in call(server, "bank", "GET", "/v1/knowledge-bases/rates").json()["entries"]
    ] == ["利率是多少"]
    old = call(server, "bank", "GET", "/v1/knowledge-bases/rates/versions/1")  # the previous base is still there
    assert old.status_code == 200 and not old.json()["active"] and entries_of(old.json()) == sample()
    old_file = call(server, "bank", "GET", "/v1/knowledge-bases/rates/export?format=xlsx&version=1")
    assert files.parse_kb(old_file.content, "xlsx", "old.xlsx") == sample()
    restored = call(server, "bank", "POST", "/v1/knowledge-bases/rates/versions/1/activate")
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3 and restored.json()["restored_from"] == 1
    assert entries_of(call(server, "bank", "GET", "/v1/knowledge-bases/rates").json()) == sample()
    versions = call(server, "bank", "GET", "/v1/knowledge-bases/rates/versions").json()["data"]
    assert [(v["version"], v["active"], v["entry_count"]) for v in versions] == [
        (3, True, 4),
        (2, False, 1),
        (1, False, 4),
    ]
    same = call(server, "bank", "POST", "/v1/knowledge-bases/rates/versions/3/activate")
    assert same.json()["version"] == 3 and same.json()["previous_version"] == 3  # already active: no new version


@pytest.mark.slow
def test_json_entries_in_both_shapes_and_pagination(server):
    stored = sample()
    body = {"entries": [entry.to_dict() for entry in stored.entries]}
    assert call(server, "bank", "PUT", "/v1/knowledge-bases/json", json=body).status_code == 201
    page = call(server, "bank", "GET", "/v1/knowledge-bases/json?limit=2&offset=1").json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [e["id"] for e in page["entries"]] == [e.id for e in stored.entries[1:3]]
    full = call(server, "bank", "GET", "/v1/knowledge-bases/json?limit=1000").json()
    assert entries_of(full) == stored
    rows = {"entries": [{"id": 5, "question": "Hi", "alternatives": "Hello|Hey", "language": "en"}]}
    put = call(server, "bank", "PUT", "/v1/knowledge-bases/rows", json=rows)
    assert put.status_code == 201, put.text
    (entry,) = call(server, "bank", "GET", "/v1/knowledge-bases/rows").json()["entries"]
    assert entry == {
        "id": "5",
        "category": "",
        "texts": {"en": {"question": "Hi", "alternatives": ["Hello", "Hey"], "answer": ""}},
    }


@pytest.mark.slow
def test_other_tenants_cannot_see_a_base(server):
    assert upload(server, "bank", "private", SAMPLE_CSV.encode(), "p.csv").status_code == 201
    for method, path in (
        ("GET", "/v1/knowledge-bases/private"),
        ("GET", "/v1/knowledge-bases/private/versions"),
        ("GET", "/v1/knowledge-bases/private/versions/1"),
        ("GET", "/v1/knowledge-bases/private/export?format=csv"),
        ("POST", "/v1/knowledge-bases/private/versions/1/activate"),
        ("DELETE", "/v1/knowledge-bases/private"),
    ):
        response = call(server, "other", method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert all(b["name"] != "private" for b in call(server, "other", "GET", "/v1/knowledge-bases").json()["data"])
    # The other tenant's own base of that name is separate.
    assert upload(server, "other", "private", b"question\nmine\n", "p.csv").json()["version"] == 1
    assert call(server, "bank", "GET", "/v1/knowledge-bases/private").json()["total"] == 4


@pytest.mark.slow
def test_unknown_bases_and_versions_are_404(server):
    for method, path in (
        ("GET", "/v1/knowledge-bases/nope"),
        ("GET", "/v1/knowledge-bases/nope/versions"),
        ("GET", "/v1/knowledge-bases/nope/export"),
        ("POST", "/v1/knowledge-bases/nope/versions/1/activate"),
        ("DELETE", "/v1/knowledge-bases/nope"),
    ):
        response = call(server, "bank", method, path)
        assert response.status_code == 404 and "no knowledge base named 'nope'" in response.json()["error"]["message"]
    upload(server, "bank", "few", SAMPLE_CSV.encode(), "few.csv")
    missing = call(server, "bank", "GET", "/v1/knowledge-bases/few/versions/9")
    assert missing.status_code == 404 and "has no version 9" in missing.json()["error"]["message"]
    assert call(server, "bank", "DELETE", "/v1/knowledge-bases/few").status_code == 204
    assert call(server, "bank", "GET", "/v1/knowledge-bases/few").status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("kb.csv", b"foo,bar\n1,2\n", "kb.csv: no question column"),
        ("kb.xlsx", b"PK\x03\x04 these bytes are no workbook", "kb.xlsx is not a readable XLSX workbook"),
        ("kb.csv", b"question,language\nhello,fr\n", "kb.csv line 2, column 'language': unknown language"),
        ("kb.csv", b"", "is empty"),
        ("kb.md", b"no headings here", "no '## question' headings"),
        ("kb.pdf", b"%PDF-1.4", "cannot tell the format of 'kb.pdf'"),
    ],
)
def test_malformed_uploads_are_400_naming_the_problem(server, filename, data, message):
    response = upload(server, "bank", "broken", data, filename)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_option"
    assert message in response.json()["error"]["message"]
    assert call(server, "bank", "GET", "/v1/knowledge-bases/broken").status_code == 404  # nothing stored


@pytest.mark.slow
def test_bad_requests_are_refused_clearly(server):
    bad_name = upload(server, "bank", "bad name!", SAMPLE_CSV.encode(), "kb.csv")
    assert bad_name.status_code == 400 and "invalid knowledge base name" in bad_name.json()["error"]["message"]
    no_file = call(server, "bank", "PUT", "/v1/knowledge-bases/x", files={"other": ("kb.csv", b"question\nq\n")})
    assert no_file.status_code == 400 and "field 'file'" in no_file.json()["error"]["message"]
    plain = call(server, "bank", "PUT", "/v1/knowledge-bases/x", content=b"question\nq\n")
    assert plain.status_code == 400 and "multipart/form-data" in plain.json()["error"]["message"]
    assert call(server, "bank", "PUT", "/v1/knowledge-bases/x", json={"entries": [{"question": 3}]}).status_code == 422
    assert call(server, "bank", "PUT", "/v1/knowledge-bases/x", json={"words": []}).status_code == 422
    empty = call(server, "bank", "PUT", "/v1/knowledge-bases/x", json={"entries": []})
    assert empty.status_code == 400 and "no entries" in empty.json()["error"]["message"]
    mixed = {"entries": [{"question": "q", "texts": {"en": {"question": "q"}}}]}
    assert call(server, "bank", "PUT", "/v1/knowledge-bases/x", json=mixed).status_code == 400
    assert call(server, "bank", "GET", "/v1/knowledge-bases/x/export?format=pdf").status_code == 422
    too_big = upload(server, "bank", "x", b"question\n" + b"q" * files.MAX_FILE_BYTES, "big.csv")
    assert too_big.status_code == 413 and "20 MB" in too_big.json()["error"]["message"]


@pytest.mark.slow
def test_eval_kb_uploads(server, eval_dir):
    response = upload(server, "bank", "bq", (eval_dir / "faq" / "kb.tsv").read_bytes(), "kb.tsv")
    assert response.status_code == 201, response.text
    assert response.json()["entry_count"] == 300


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli(tmp_path, monkeypatch):
    from shenggu.cli.main import app

    monkeypatch.setenv("SHENGGU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SHENGGU_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def test_cli_import_export_list_versions(cli, tmp_path):
    source = tmp_path / "faq.csv"
    source.write_text(SAMPLE_CSV, encoding="utf-8")
    imported = cli("kb", "import", str(source), "--name", "faq")
    assert imported.exit_code == 0, imported.output
    assert "version 1, 4 entries" in imported.output
    assert cli("kb", "import", str(source), "--name", "faq", "--note", "again").exit_code == 0
    for fmt in files.FORMATS:
        out = tmp_path / f"out.{fmt}"
        exported = cli("kb", "export", "--name", "faq", "--out", str(out))
        assert exported.exit_code == 0, exported.output
        assert files.read_kb(out) == sample()
    listed = cli("kb", "list")
    assert listed.exit_code == 0 and "faq" in listed.output and "v2" in listed.output
    versions = cli("kb", "versions", "faq")
    assert (
        versions.exit_code == 0
        and versions.output.index("v2") < versions.output.index("v1")
        and "again" in versions.output
    )
    assert cli("kb", "activate", "faq", "1").exit_code == 0
    assert "v3" in cli("kb", "versions", "faq").output


def test_cli_errors_are_one_line_exit_2(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"foo,bar\n1,2\n")
    for args, code in (
        (["kb", "import", str(bad), "--name", "faq"], "invalid_option"),
        (["kb", "import", str(tmp_path / "missing.csv"), "--name", "faq"], "invalid_option"),
        (["kb", "export", "--name", "nope", "--out", str(tmp_path / "x.csv")], "not_found"),
        (["kb", "versions", "nope"], "not_found"),
        (["kb", "list", "--tenant", "no-such-tenant"], "not_found"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {code}:"), result.output
