// Hotwords, glossaries and knowledge bases, one tab each. Hotword lists (/v1/hotwords) and glossaries
// (/v1/glossaries) are named items, edited as text (one term, or one "source = target" pair, per line), imported
// from a file read in the browser, exported as the API's JSON; they keep no history. Knowledge bases
// (/v1/knowledge-bases) import a CSV/TSV/XLSX/Markdown file as a new version, are edited as Markdown (saved as a
// new version), and list their versions, any of which can be made active again or exported.
import { del, get, post, put } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { busy, download, el, field, flash, heading, keepDraft, table, when } from "../ui.js";

addStrings({
  zh: {
    "lists.tab.hotwords": "热词表", "lists.tab.glossaries": "翻译术语表", "lists.tab.kb": "知识库", "lists.tabs": "类别",
    "lists.hotwords.about": "名为 default 的热词表对本租户的所有识别生效；其他热词表在请求中用 hotword_lists 指定。",
    "lists.glossaries.about": "名为 default 的术语表对本租户的所有翻译生效；其他术语表在请求中用 glossaries 指定。",
    "lists.kb.about": "每次导入或保存都生成一个新版本，最新版本生效；旧版本可以重新启用（复制为新版本，历史不会丢失）。",
    "lists.new": "新建", "lists.edit": "编辑", "lists.count": "条目数", "lists.updated": "更新时间",
    "lists.editing": "编辑“{name}”", "lists.creating": "新建", "lists.name": "名称",
    "lists.hotwords.text": "热词（每行一个）", "lists.glossaries.text": "术语对（每行一条：原文 = 译文）",
    "lists.import_file": "从文件导入", "lists.hotwords.import.help": "文本文件每行一个词，或本页导出的 JSON；导入内容会替换编辑框。",
    "lists.glossaries.import.help": "每行“原文 = 译文”（也可用制表符或逗号分隔），或本页导出的 JSON；导入内容会替换编辑框。",
    "lists.close": "关闭编辑", "lists.saved": "“{name}”已保存。", "lists.deleted": "“{name}”已删除。",
    "lists.bad_line": "第 {line} 行没有“=”：{text}", "lists.bad_file": "无法读取文件“{name}”：{message}",
    "lists.need_name": "请输入名称。",
    "lists.kb.version": "生效版本", "lists.kb.entries": "条目数", "lists.kb.source": "来源", "lists.kb.note": "说明",
    "lists.kb.open": "打开", "lists.kb.import": "导入知识库文件", "lists.kb.file": "文件（CSV、TSV、XLSX 或 Markdown）",
    "lists.kb.import.help": "导入到已有的知识库会生成新版本。", "lists.kb.import.submit": "导入",
    "lists.kb.imported": "“{name}”已导入为第 {version} 版。", "lists.kb.need_file": "请选择要导入的文件。",
    "lists.kb.versions": "“{name}”的版本", "lists.kb.number": "版本", "lists.kb.restored": "复制自",
    "lists.kb.active": "生效中", "lists.kb.activate": "启用", "lists.kb.activated": "第 {from} 版已重新启用（新的第 {version} 版）。",
    "lists.kb.export_format": "导出格式", "lists.kb.editor": "编辑生效版本（Markdown）",
    "lists.kb.editor.help": "每个条目一节：“## 问题”，下面是 id、category、language、alternatives，空一行后是答案。",
    "lists.kb.save": "保存为新版本", "lists.kb.saved": "已保存为第 {version} 版。", "lists.kb.close": "关闭",
    "lists.kb.confirm_activate": "启用第 {version} 版？它会被复制为最新版本。",
  },
  en: {
    "lists.tab.hotwords": "Hotword lists", "lists.tab.glossaries": "Glossaries", "lists.tab.kb": "Knowledge bases",
    "lists.tabs": "Kind",
    "lists.hotwords.about": "The list named default applies to all of this tenant's recognition; others apply when a request names them in hotword_lists.",
    "lists.glossaries.about": "The glossary named default applies to all of this tenant's translations; others apply when a request names them in glossaries.",
    "lists.kb.about": "Every import or save makes a new version, and the newest is active; an older one can be made active again (copied as a new version, so no history is lost).",
    "lists.new": "New", "lists.edit": "Edit", "lists.count": "Entries", "lists.updated": "Updated",
    "lists.editing": "Editing “{name}”", "lists.creating": "New", "lists.name": "Name",
    "lists.hotwords.text": "Hotwords (one per line)", "lists.glossaries.text": "Term pairs (one per line: source = target)",
    "lists.import_file": "Import from a file",
    "lists.hotwords.import.help": "A text file with one term per line, or JSON exported here; it replaces the text box.",
    "lists.glossaries.import.help": "Lines of “source = target” (or tab- or comma-separated), or JSON exported here; it replaces the text box.",
    "lists.close": "Close the editor", "lists.saved": "“{name}” was saved.", "lists.deleted": "“{name}” was deleted.",
    "lists.bad_line": "Line {line} has no “=”: {text}", "lists.bad_file": "The file “{name}” cannot be read: {message}",
    "lists.need_name": "Type a name.",
    "lists.kb.version": "Active version", "lists.kb.entries": "Entries", "lists.kb.source": "Source",
    "lists.kb.note": "Note", "lists.kb.open": "Open", "lists.kb.import": "Import a knowledge-base file",
    "lists.kb.file": "File (CSV, TSV, XLSX or Markdown)",
    "lists.kb.import.help": "Importing into an existing base makes a new version.", "lists.kb.import.submit": "Import",
    "lists.kb.imported": "“{name}” was imported as version {version}.", "lists.kb.need_file": "Choose the file to import.",
    "lists.kb.versions": "Versions of “{name}”", "lists.kb.number": "Version", "lists.kb.restored": "Copied from",
    "lists.kb.active": "Active", "lists.kb.activate": "Activate",
    "lists.kb.activated": "Version {from} is active again (as the new version {version}).",
    "lists.kb.export_format": "Export format", "lists.kb.editor": "Edit the active version (Markdown)",
    "lists.kb.editor.help": "One section per entry: “## question”, then id, category, language, alternatives, a blank line and the answer.",
    "lists.kb.save": "Save as a new version", "lists.kb.saved": "Saved as version {version}.", "lists.kb.close": "Close",
    "lists.kb.confirm_activate": "Activate version {version}? It is copied as the newest version.",
  },
});

/** JSON exported by this page ({field: ...}), or null when the text is not such JSON. */
function exportedJson(text, fieldName) {
  if (!/^\s*[{[]/.test(text)) return null;
  const parsed = JSON.parse(text);
  return parsed && !Array.isArray(parsed) && fieldName in parsed ? parsed[fieldName] : parsed;
}

const lines = (text) => text.split(/\r?\n/).map((line) => line.trim());

// The two kinds of named items: their route, content field, and how their content is written as text and read
// back from the text box or from an imported file.
const KINDS = {
  hotwords: {
    path: "/v1/hotwords",
    field: "words",
    count: (words) => words.length,
    toText: (words) => words.join("\n"),
    fromText: (text) => lines(text).filter(Boolean),
    fromFile: (text) => {
      const json = exportedJson(text, "words");
      return json ? json.join("\n") : text;
    },
  },
  glossaries: {
    path: "/v1/glossaries",
    field: "terms",
    count: (terms) => Object.keys(terms).length,
    toText: (terms) => Object.entries(terms).map(([source, target]) => `${source} = ${target}`).join("\n"),
    fromText: (text) => {
      const terms = {};
      for (const [n, line] of lines(text).entries()) {
        if (!line) continue;
        const at = line.indexOf("=");
        if (at < 0) throw new Error(t("lists.bad_line", { line: n + 1, text: line }));
        terms[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      return terms;
    },
    fromFile: (text) => {
      const json = exportedJson(text, "terms");
      if (json) return KINDS.glossaries.toText(json);
      // Spreadsheet exports: "source<TAB>target" or "source,target" lines become "source = target".
      return lines(text).filter(Boolean).map((line) => (line.includes("=") ? line : line.replace(/\t|,/, " = ")))
        .join("\n");
    },
  },
};

// What survives a re-render: the tab, the item each editor is on ({name, isNew}) and the knowledge base open.
const state = { tab: "hotwords", editing: {}, kb: null };

function namedSection(kindName) {
  const kind = KINDS[kindName];
  const section = el("section", { id: kindName, class: "lists-part", "aria-labelledby": `${kindName}-title` });
  const editorSlot = el("div", {});
  const listSlot = el("div", {});

  // Opening an item (content null: a new one) fills the editor; its text is then a draft until saved.
  const openEditor = (name, content) => {
    state.editing[kindName] = { name, isNew: content === null };
    drawEditor({ name, text: content === null ? "" : kind.toText(content) });
    document.getElementById(`${kindName}-${content === null ? "name" : "text"}`)?.focus();
  };

  function drawEditor(initial = null) {
    const editing = state.editing[kindName];
    if (!editing) {
      editorSlot.replaceChildren();
      return;
    }
    const name = keepDraft(el("input", { type: "text", id: `${kindName}-name`, maxlength: 100, readonly: !editing.isNew,
      autocomplete: "off" }), `lists.${kindName}.name`);
    const text = keepDraft(el("textarea", { id: `${kindName}-text`, rows: 10 }), `lists.${kindName}.text`);
    if (initial) {
      for (const [control, value] of [[name, initial.name], [text, initial.text]]) {
        control.value = value;
        control.dispatchEvent(new Event("input"));
      }
    }
    const file = el("input", { type: "file", id: `${kindName}-import`, accept: ".txt,.csv,.tsv,.json,text/*" });
    const save = el("button", { type: "submit", class: "primary", id: `${kindName}-save`, text: t("common.save") });
    const close = el("button", { type: "button", text: t("lists.close"), onclick: () => {
      state.editing[kindName] = null;
      drawEditor();
    } });
    file.addEventListener("change", async () => {
      if (!file.files.length) return;
      try {
        text.value = kind.fromFile(await file.files[0].text()); // read here, in the browser (UTF-8)
        text.dispatchEvent(new Event("input"));
      } catch (error) {
        flash(t("lists.bad_file", { name: file.files[0].name, message: error.message }));
      }
      file.value = "";
    });
    const form = el("form", { class: "card", id: `${kindName}-editor` },
      el("h3", { text: editing.isNew ? t("lists.creating") : t("lists.editing", { name: editing.name }) }),
      field("lists.name", name), field(`lists.${kindName}.text`, text),
      field("lists.import_file", file, `lists.${kindName}.import.help`),
      el("div", { class: "row" }, save, close));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const itemName = name.value.trim();
      if (!itemName) {
        flash(t("lists.need_name"));
        name.focus();
        return;
      }
      busy(save, async () => {
        const content = kind.fromText(text.value);
        await put(`${kind.path}/${encodeURIComponent(itemName)}`, { json: { [kind.field]: content } });
        state.editing[kindName] = { name: itemName, isNew: false };
        flash(t("lists.saved", { name: itemName }), "info");
        await load();
        drawEditor();
      });
    });
    editorSlot.replaceChildren(form);
  }

  async function load() {
    const { data } = await get(kind.path);
    const action = (label, item, handler, attrs = {}) => el("button", { type: "button", text: t(label),
      "aria-label": `${t(label)} ${item.name}`, ...attrs, onclick: (event) => busy(event.currentTarget, handler) });
    listSlot.replaceChildren(table([
      ["common.name", (item) => item.name],
      ["lists.count", (item) => String(kind.count(item[kind.field]))],
      ["lists.updated", (item) => when(item.updated_at)],
      ["common.actions", (item) => el("div", { class: "row" },
        action("lists.edit", item, async () => openEditor(item.name, item[kind.field]), { dataset: { edit: item.name } }),
        action("common.export", item, async () => download(
          new Blob([JSON.stringify({ [kind.field]: item[kind.field] }, null, 2)], { type: "application/json" }),
          `${kindName}-${item.name}.json`), { dataset: { export: item.name } }),
        action("common.delete", item, async () => {
          if (!window.confirm(t("common.confirm_delete", { name: item.name }))) return;
          await del(`${kind.path}/${encodeURIComponent(item.name)}`);
          if (state.editing[kindName]?.name === item.name) state.editing[kindName] = null;
          flash(t("lists.deleted", { name: item.name }), "info");
          await load();
          drawEditor();
        }, { class: "danger", dataset: { delete: item.name } }))],
    ], data, { id: `${kindName}-table` }));
    section.dataset.items = String(data.length);
  }

  const create = el("button", { type: "button", id: `${kindName}-new`, text: t("lists.new"),
    onclick: () => openEditor("", null) });
  section.append(el("h2", { id: `${kindName}-title`, text: t(`lists.tab.${kindName}`) }),
    el("p", { class: "muted", text: t(`lists.${kindName}.about`) }), el("div", { class: "row" }, create), listSlot,
    editorSlot);
  drawEditor();
  return { section, load };
}

// ---------------------------------------------------------------------------------------------- knowledge bases

const KB_FORMATS = [["csv", "CSV"], ["tsv", "TSV"], ["xlsx", "XLSX"], ["md", "Markdown"]];
const kbPath = (name) => `/v1/knowledge-bases/${encodeURIComponent(name)}`;

/** PUT a knowledge-base file (a File, or Markdown text made here) as a new version; the version made. */
function putKbFile(name, file, fileName, note) {
  const form = new FormData();
  form.append("file", file, fileName);
  if (note) form.append("note", note);
  return put(kbPath(name), { form });
}

function kbSection() {
  const section = el("section", { id: "kb", class: "lists-part", "aria-labelledby": "kb-title" });
  const listSlot = el("div", {});
  const detailSlot = el("div", {});

  const importForm = () => {
    const name = keepDraft(el("input", { type: "text", id: "kb-name", maxlength: 100, autocomplete: "off" }), "lists.kb.name");
    const file = el("input", { type: "file", id: "kb-file", accept: ".csv,.tsv,.xlsx,.md,.markdown" });
    const note = keepDraft(el("input", { type: "text", id: "kb-note", maxlength: 500 }), "lists.kb.note");
    const submit = el("button", { type: "submit", class: "primary", id: "kb-import", text: t("lists.kb.import.submit") });
    const form = el("form", { class: "card", id: "kb-import-form" }, el("h3", { text: t("lists.kb.import") }),
      el("div", { class: "grid" }, field("lists.name", name, "lists.kb.import.help"), field("lists.kb.file", file),
        field("lists.kb.note", note)), submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!name.value.trim()) {
        flash(t("lists.need_name"));
        name.focus();
        return;
      }
      if (!file.files.length) {
        flash(t("lists.kb.need_file"));
        file.focus();
        return;
      }
      busy(submit, async () => {
        const base = name.value.trim();
        const made = await putKbFile(base, file.files[0], file.files[0].name, note.value.trim());
        flash(t("lists.kb.imported", { name: base, version: made.version }), "info");
        file.value = "";
        note.value = "";
        note.dispatchEvent(new Event("input"));
        state.kb = base;
        await load();
      });
    });
    return form;
  };

  async function drawDetail() {
    if (!state.kb) {
      detailSlot.replaceChildren();
      return;
    }
    const name = state.kb;
    const [{ data: versions }, markdown] = await Promise.all([
      get(`${kbPath(name)}/versions`), get(`${kbPath(name)}/export`, { query: { format: "md" }, expect: "text" }),
    ]);
    const format = el("select", { id: "kb-format" }, KB_FORMATS.map(([value, label]) => el("option", { value, text: label })));
    keepDraft(format, "lists.kb.format");
    const exportButton = (version) => el("button", { type: "button", text: t("common.export"),
      dataset: { exportVersion: String(version.version) }, "aria-label": `${t("common.export")} v${version.version}`,
      onclick: (event) => busy(event.currentTarget, async () => download(
        await get(`${kbPath(name)}/export`, { query: { format: format.value, version: version.version }, expect: "blob" }),
        `${name}-v${version.version}.${format.value}`)) });
    const activateButton = (version) => el("button", { type: "button", text: t("lists.kb.activate"),
      dataset: { activate: String(version.version) }, "aria-label": `${t("lists.kb.activate")} v${version.version}`,
      onclick: (event) => {
        if (!window.confirm(t("lists.kb.confirm_activate", { version: version.version }))) return;
        busy(event.currentTarget, async () => {
          const made = await post(`${kbPath(name)}/versions/${version.version}/activate`);
          flash(t("lists.kb.activated", { from: version.version, version: made.version }), "info");
          await load();
        });
      } });
    // The editor starts from the active version's Markdown. Unsaved edits are a draft of that version: once
    // another version is active (saved, activated), the editor starts from it.
    const active = versions.find((version) => version.active);
    const text = el("textarea", { id: "kb-text", rows: 14, class: "mono", value: markdown });
    keepDraft(text, `lists.kb.text.${name}.v${active ? active.version : 0}`);
    const note = el("input", { type: "text", id: "kb-edit-note", maxlength: 500 });
    const save = el("button", { type: "submit", class: "primary", id: "kb-save", text: t("lists.kb.save") });
    const editor = el("form", { id: "kb-editor" }, field("lists.kb.editor", text, "lists.kb.editor.help"),
      field("lists.kb.note", note), save);
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(save, async () => {
        const made = await putKbFile(name, new Blob([text.value], { type: "text/markdown" }), `${name}.md`,
          note.value.trim());
        flash(t("lists.kb.saved", { version: made.version }), "info");
        await load();
      });
    });
    const close = el("button", { type: "button", class: "link", text: t("lists.kb.close"), onclick: () => {
      state.kb = null;
      detailSlot.replaceChildren();
    } });
    detailSlot.replaceChildren(el("section", { class: "card", id: "kb-detail", dataset: { kb: name },
      "aria-labelledby": "kb-detail-title" },
    el("div", { class: "row spread" }, el("h3", { id: "kb-detail-title", text: t("lists.kb.versions", { name }) }), close),
    field("lists.kb.export_format", format),
    table([
      ["lists.kb.number", (v) => `v${v.version}`],
      ["lists.kb.entries", (v) => String(v.entry_count)],
      ["common.created", (v) => when(v.created_at)],
      ["lists.kb.source", (v) => v.source],
      ["lists.kb.note", (v) => v.note],
      ["lists.kb.restored", (v) => (v.restored_from ? `v${v.restored_from}` : "")],
      ["common.status", (v) => (v.active ? el("span", { class: "badge active", text: t("lists.kb.active") }) : "")],
      ["common.actions", (v) => el("div", { class: "row" }, v.active ? null : activateButton(v), exportButton(v))],
    ], versions, { id: "kb-versions" }), editor));
    section.dataset.versions = String(versions.length);
  }

  async function load() {
    const { data } = await get("/v1/knowledge-bases");
    listSlot.replaceChildren(table([
      ["common.name", (base) => base.name],
      ["lists.kb.version", (base) => `v${base.version}`],
      ["lists.kb.entries", (base) => String(base.entry_count)],
      ["lists.updated", (base) => when(base.updated_at)],
      ["lists.kb.source", (base) => base.source],
      ["common.actions", (base) => el("div", { class: "row" },
        el("button", { type: "button", text: t("lists.kb.open"), dataset: { open: base.name },
          "aria-label": `${t("lists.kb.open")} ${base.name}`, onclick: (event) => busy(event.currentTarget, async () => {
            state.kb = base.name;
            await drawDetail();
            document.getElementById("kb-detail-title")?.scrollIntoView({ block: "nearest" });
          }) }),
        el("button", { type: "button", class: "danger", text: t("common.delete"), dataset: { delete: base.name },
          "aria-label": `${t("common.delete")} ${base.name}`, onclick: (event) => {
            if (!window.confirm(t("common.confirm_delete", { name: base.name }))) return;
            busy(event.currentTarget, async () => {
              await del(kbPath(base.name));
              if (state.kb === base.name) state.kb = null;
              flash(t("lists.deleted", { name: base.name }), "info");
              await load();
            });
          } }))],
    ], data, { id: "kb-table" }));
    section.dataset.items = String(data.length);
    if (state.kb && !data.some((base) => base.name === state.kb)) state.kb = null;
    await drawDetail();
  }

  section.append(el("h2", { id: "kb-title", text: t("lists.tab.kb") }),
    el("p", { class: "muted", text: t("lists.kb.about") }), listSlot, importForm(), detailSlot);
  return { section, load };
}

// ---------------------------------------------------------------------------------------------- the page

const TABS = [["hotwords", () => namedSection("hotwords")], ["glossaries", () => namedSection("glossaries")],
  ["kb", kbSection]];

export default {
  id: "lists",
  nav: "nav.lists",
  admin: false,
  async render(root) {
    const body = el("div", {});
    const tabs = el("div", { class: "row tabs", role: "group", "aria-label": t("lists.tabs") });
    const show = async (id) => {
      state.tab = id;
      for (const button of tabs.children) button.setAttribute("aria-pressed", String(button.dataset.tab === id));
      const part = TABS.find(([tab]) => tab === id)[1]();
      body.replaceChildren(part.section);
      await part.load();
      root.dataset.tab = id;
    };
    for (const [id] of TABS) {
      tabs.append(el("button", { type: "button", id: `tab-${id}`, text: t(`lists.tab.${id}`), dataset: { tab: id },
        onclick: (event) => busy(event.currentTarget, () => show(id)) }));
    }
    root.append(heading("nav.lists"), tabs, body);
    await show(state.tab);
  },
};
