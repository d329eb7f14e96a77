// Keys (administrators): GET/POST/DELETE /v1/admin/keys — create a key for a new or existing tenant (with the
// tenant's limits), the new key shown once with a copy button, every key listed, revoking after a confirmation.
import { del, get, post } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { busy, el, field, flash, heading, keepDraft, num, table, when } from "../ui.js";

addStrings({
  zh: {
    "keys.create": "新建密钥", "keys.tenant": "租户", "keys.tenant.help": "新租户会被创建；已有租户则为其再发一个密钥。",
    "keys.admin": "管理员密钥（可管理所有租户与密钥）", "keys.limits": "租户限额",
    "keys.limits.help": "限额属于整个租户。留空：新租户不限，已有租户保持原值。",
    "keys.quota_seconds": "每日音频配额（秒）", "keys.rate": "每分钟请求数上限", "keys.max_audio": "单个音频最长（秒）",
    "keys.quota_characters": "每日字符配额（合成、翻译、助手）", "keys.submit": "创建密钥",
    "keys.created": "新密钥（只显示这一次，请立即复制保存）：", "keys.copy": "复制", "keys.copied": "已复制到剪贴板。",
    "keys.copy_failed": "无法写入剪贴板，请手动选中复制。", "keys.list": "全部密钥", "keys.id": "密钥 ID",
    "keys.role": "角色", "keys.role.admin": "管理员", "keys.role.user": "用户", "keys.active": "有效",
    "keys.revoked": "已吊销", "keys.revoke": "吊销", "keys.this": "（当前使用）",
    "keys.confirm_revoke": "吊销租户“{tenant}”的密钥 {id}？使用它的程序会立即失去访问权限。",
    "keys.confirm_self": "这是你正在使用的密钥，吊销后你会被登出。确定吊销？",
    "keys.done_revoke": "密钥 {id} 已吊销。", "keys.unlimited": "不限", "keys.bad_number": "“{label}”必须是正数。",
  },
  en: {
    "keys.create": "New key", "keys.tenant": "Tenant",
    "keys.tenant.help": "A new tenant is created; an existing one gets another key.",
    "keys.admin": "Administrator key (manages every tenant and key)", "keys.limits": "Tenant limits",
    "keys.limits.help": "Limits belong to the whole tenant. Empty: unlimited for a new tenant, unchanged for an existing one.",
    "keys.quota_seconds": "Daily audio quota (seconds)", "keys.rate": "Requests per minute",
    "keys.max_audio": "Longest audio (seconds)", "keys.quota_characters": "Daily characters (speech, translation, assistant)",
    "keys.submit": "Create the key",
    "keys.created": "The new key (shown only this once: copy it and keep it safe):", "keys.copy": "Copy",
    "keys.copied": "Copied to the clipboard.", "keys.copy_failed": "The clipboard refused; select the key and copy it.",
    "keys.list": "All keys", "keys.id": "Key id", "keys.role": "Role", "keys.role.admin": "Administrator",
    "keys.role.user": "User", "keys.active": "Active", "keys.revoked": "Revoked", "keys.revoke": "Revoke",
    "keys.this": " (in use here)",
    "keys.confirm_revoke": "Revoke key {id} of tenant “{tenant}”? Programs using it lose access at once.",
    "keys.confirm_self": "This is the key you are signed in with; revoking it signs you out. Revoke it?",
    "keys.done_revoke": "Key {id} was revoked.", "keys.unlimited": "Unlimited",
    "keys.bad_number": "“{label}” must be a positive number.",
  },
});

// The limits POST /v1/admin/keys accepts: [body field, label, integer?].
const LIMITS = [
  ["quota_seconds_per_day", "keys.quota_seconds", false],
  ["rate_per_minute", "keys.rate", true],
  ["max_audio_seconds", "keys.max_audio", false],
  ["quota_characters_per_day", "keys.quota_characters", true],
];

// The key just created, shown once: kept while the page re-renders (language switch), dropped on leaving.
const state = { created: null };

function createdCard() {
  const created = state.created;
  const box = el("input", { type: "text", readonly: true, value: created.key, class: "secret", id: "created-key",
    "aria-labelledby": "created-key-note" });
  const copy = el("button", { type: "button", id: "copy-key", text: t("keys.copy") });
  copy.addEventListener("click", async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(created.key);
      flash(t("keys.copied"), "info");
    } catch {
      flash(t("keys.copy_failed"));
    }
  });
  return el("section", { class: "card created", id: "created", dataset: { keyId: created.id } },
    el("p", { id: "created-key-note", text: t("keys.created") }),
    el("div", { class: "row" }, box, copy),
    el("p", { class: "muted", text: `${created.tenant} · ${created.id}` }));
}

function createForm(onCreated) {
  const tenant = keepDraft(el("input", { type: "text", id: "key-tenant", required: true, maxlength: 100,
    autocomplete: "off" }), "keys.tenant");
  const admin = keepDraft(el("input", { type: "checkbox", id: "key-admin" }), "keys.admin");
  const inputs = LIMITS.map(([name, label, integer]) => [name, label, integer, keepDraft(el("input", {
    type: "number", min: integer ? 1 : 0, step: integer ? 1 : "any", id: `key-${name}`, inputmode: "decimal",
  }), `keys.${name}`)]);
  const submit = el("button", { type: "submit", class: "primary", id: "key-submit", text: t("keys.submit") });
  const form = el("form", { class: "card", id: "key-form", "aria-labelledby": "keys-create" },
    el("h2", { id: "keys-create", text: t("keys.create") }),
    field("keys.tenant", tenant, "keys.tenant.help"),
    el("div", { class: "field inline" }, admin, el("label", { for: admin.id, text: t("keys.admin") })),
    el("fieldset", {}, el("legend", { text: t("keys.limits") }), el("p", { class: "help muted", text: t("keys.limits.help") }),
      el("div", { class: "grid" }, inputs.map(([, label, , input]) => field(label, input)))),
    submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { tenant: tenant.value.trim(), admin: admin.checked };
    for (const [name, label, integer, input] of inputs) {
      if (input.value === "") continue;
      const value = Number(input.value);
      if (!Number.isFinite(value) || value < 0 || (integer && (!Number.isInteger(value) || value < 1))) {
        flash(t("keys.bad_number", { label: t(label) }));
        input.focus();
        return;
      }
      body[name] = value;
    }
    busy(submit, async () => {
      state.created = await post("/v1/admin/keys", { json: body });
      onCreated();
    });
  });
  return form;
}

function keyList(keys, me, onRevoked) {
  const limit = (value, format = String) => (value === null ? t("keys.unlimited") : format(value));
  const revokeButton = (key) => {
    if (key.revoked) return "";
    const button = el("button", { type: "button", class: "danger", text: t("keys.revoke"),
      dataset: { revoke: key.id }, "aria-label": `${t("keys.revoke")} ${key.tenant} ${key.id}` });
    button.addEventListener("click", () => {
      const question = key.id === me.key_id ? t("keys.confirm_self") : t("keys.confirm_revoke", key);
      if (!window.confirm(question)) return;
      busy(button, async () => {
        await del(`/v1/admin/keys/${encodeURIComponent(key.id)}`);
        flash(t("keys.done_revoke", { id: key.id }), "info");
        await onRevoked();
      });
    });
    return button;
  };
  return table([
    ["keys.tenant", (key) => key.tenant],
    ["keys.id", (key) => el("span", { class: "mono", text: key.id + (key.id === me.key_id ? t("keys.this") : "") })],
    ["keys.role", (key) => t(key.admin ? "keys.role.admin" : "keys.role.user")],
    ["common.status", (key) => el("span", { class: `badge ${key.revoked ? "revoked" : "active"}`,
      text: t(key.revoked ? "keys.revoked" : "keys.active") })],
    ["keys.quota_seconds", (key) => limit(key.quota_seconds_per_day, (v) => num(v, 0))],
    ["keys.rate", (key) => limit(key.rate_per_minute)],
    ["keys.quota_characters", (key) => limit(key.quota_characters_per_day)],
    ["common.created", (key) => when(key.created_at)],
    ["common.actions", revokeButton],
  ], [...keys].reverse(), { id: "keys-table" });
}

export default {
  id: "keys",
  nav: "nav.keys",
  admin: true,
  async render(root, session) {
    const created = el("div", {});
    const list = el("section", { "aria-labelledby": "keys-list" });
    const load = async () => {
      const { data } = await get("/v1/admin/keys");
      list.replaceChildren(el("h2", { id: "keys-list", text: t("keys.list") }), keyList(data, session.me, load));
      root.dataset.keys = String(data.length);
    };
    const showCreated = () => {
      created.replaceChildren(state.created ? createdCard() : "");
      return load();
    };
    root.append(heading("nav.keys"), created, createForm(showCreated), list);
    created.replaceChildren(state.created ? createdCard() : "");
    await load();
    document.getElementById("created-key")?.select();
    return () => {
      // Shown once: leaving the page forgets it; a re-render of this page (language switch) keeps it.
      if (!location.hash.startsWith("#/keys")) state.created = null;
    };
  },
};
