// Strings of the console in Mandarin (the default) and English. Each page adds its own with addStrings(); t(key)
// falls back to the other language, then to the key itself, so a missing string shows, never breaks the page.
const STORAGE_KEY = "shenggu.console.language";
const strings = { zh: {}, en: {} };
let current = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "zh";

/** Merge a page's strings: addStrings({zh: {...}, en: {...}}). */
export function addStrings(table) {
  for (const language of Object.keys(strings)) Object.assign(strings[language], table[language] || {});
}

/** The string for key in the current language; {name} placeholders filled from params. */
export function t(key, params = {}) {
  const other = current === "zh" ? "en" : "zh";
  const text = strings[current][key] ?? strings[other][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function language() {
  return current;
}

export function setLanguage(value) {
  current = value === "en" ? "en" : "zh";
  localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

addStrings({
  zh: {
    "app.title": "声谷控制台",
    "nav.transcribe": "转写", "nav.live": "实时识别", "nav.speak": "语音合成", "nav.assess": "口语评测",
    "nav.jobs": "任务", "nav.usage": "用量", "nav.keys": "密钥", "nav.lists": "热词与知识库",
    "nav.evaluate": "评测平台",
    "signin.title": "登录", "signin.key": "API 密钥", "signin.submit": "登录",
    "signin.help": "密钥只保存在本浏览器的会话中，关闭标签页即清除。",
    "signin.bad": "密钥无效或已吊销。", "signin.setup.title": "首次使用",
    "signin.setup.text": "此服务器还没有管理员密钥。在本机上可以创建第一个管理员密钥。",
    "signin.setup.button": "创建管理员密钥",
    "signin.setup.done": "这是管理员密钥，只显示这一次，请妥善保存：",
    "signin.setup.continue": "用此密钥登录",
    "signout": "退出", "who.admin": "{tenant}（管理员）", "who.user": "{tenant}",
    "common.loading": "加载中…", "common.save": "保存", "common.delete": "删除", "common.cancel": "取消",
    "common.refresh": "刷新", "common.download": "下载", "common.none": "暂无", "common.close": "关闭",
    "common.error": "出错了：{message}", "common.network": "无法连接服务器。", "common.saved": "已保存。",
    "common.confirm_delete": "确定删除“{name}”？", "common.language": "语言", "common.auto": "自动",
    "common.zh": "中文", "common.en": "英文", "common.status": "状态", "common.name": "名称",
    "common.created": "创建时间", "common.actions": "操作", "common.file": "文件", "common.export": "导出",
    "common.import": "导入", "common.details": "详情", "common.working": "处理中…",
    "page.not_found": "没有这个页面。", "page.admin_only": "此页面需要管理员密钥。",
    "status.queued": "排队中", "status.running": "运行中", "status.succeeded": "已完成", "status.failed": "失败",
    "status.cancelled": "已取消",
  },
  en: {
    "app.title": "shenggu console",
    "nav.transcribe": "Transcribe", "nav.live": "Live", "nav.speak": "Speak", "nav.assess": "Assess",
    "nav.jobs": "Jobs", "nav.usage": "Usage", "nav.keys": "Keys", "nav.lists": "Hotwords & knowledge",
    "nav.evaluate": "Evaluate",
    "signin.title": "Sign in", "signin.key": "API key", "signin.submit": "Sign in",
    "signin.help": "The key is kept in this browser tab's session only and forgotten when the tab closes.",
    "signin.bad": "The key is not valid or was revoked.", "signin.setup.title": "First run",
    "signin.setup.text": "This server has no administrator key yet. On this machine you can create the first one.",
    "signin.setup.button": "Create the administrator key",
    "signin.setup.done": "This is the administrator key. It is shown only once; keep it safe:",
    "signin.setup.continue": "Sign in with this key",
    "signout": "Sign out", "who.admin": "{tenant} (admin)", "who.user": "{tenant}",
    "common.loading": "Loading…", "common.save": "Save", "common.delete": "Delete", "common.cancel": "Cancel",
    "common.refresh": "Refresh", "common.download": "Download", "common.none": "None yet", "common.close": "Close",
    "common.error": "Something went wrong: {message}", "common.network": "The server cannot be reached.",
    "common.saved": "Saved.", "common.confirm_delete": "Delete “{name}”?", "common.language": "Language",
    "common.auto": "Automatic", "common.zh": "Mandarin", "common.en": "English", "common.status": "Status",
    "common.name": "Name", "common.created": "Created", "common.actions": "Actions", "common.file": "File",
    "common.export": "Export", "common.import": "Import", "common.details": "Details",
    "common.working": "Working…",
    "page.not_found": "There is no such page.", "page.admin_only": "This page needs an administrator key.",
    "status.queued": "Queued", "status.running": "Running", "status.succeeded": "Succeeded", "status.failed": "Failed",
    "status.cancelled": "Cancelled",
  },
});
