// The page's words in English and Chinese. t("key", {n: 1}) fills {n}; apply() rewrites every
// element marked data-i18n (text), data-i18n-placeholder, data-i18n-title (title and aria-label).

const WORDS = {
  en: {
    newChat: "New chat", searchChats: "Search conversations", settings: "Settings", shortcuts: "Keyboard shortcuts",
    model: "Model", knowledgeBase: "Knowledge base", noKb: "No knowledge base",
    greeting: "How can I help you today?",
    greetingHint: "Ask anything. Pick a knowledge base above to get answers with sources you can check.",
    placeholder: "Message lingxi…",
    send: "Send", stop: "Stop generating",
    disclaimer: "Enter sends, Shift+Enter starts a new line. Answers come from a local model and can be wrong: check the sources.",
    record: "Speak your message", stopRecording: "Stop recording", readAloud: "Read aloud",
    micDenied: "The microphone is not available: {error}",
    copy: "Copy", copied: "Copied", copyCode: "Copy code", good: "Good answer", bad: "Bad answer",
    thanks: "Thanks for the feedback", stopped: "Stopped", thinking: "Thinking…", searching: "Searching the knowledge base…",
    sources: "Sources", page: "page {n}", openFile: "Open the file", close: "Close", passage: "Quoted passage",
    passageMissing: "The passage could not be loaded: {error}",
    rename: "Rename", delete: "Delete", deleteTitle: "Delete this conversation?",
    deleteBody: "“{title}” and its messages will be deleted. This cannot be undone.", cancel: "Cancel",
    today: "Today", yesterday: "Yesterday", week: "Previous 7 days", older: "Older", noChats: "No conversations yet",
    noMatch: "No conversation matches",
    keyTitle: "This server needs an API key",
    keyBody: "Paste a key made with “lingxi keys create NAME”. It is kept in this browser only.",
    keyLabel: "API key", save: "Save", forgetKey: "Forget the key", keySaved: "API key saved",
    theme: "Theme", themeSystem: "System", themeLight: "Light", themeDark: "Dark", toggleTheme: "Light / dark",
    language: "Language", toggleLang: "中文", temperature: "Temperature", maxTokens: "Max tokens",
    toggleSidebar: "Show or hide the conversations", closeSidebar: "Close",
    scNew: "New chat", scSearch: "Search conversations", scSidebar: "Show or hide the conversations",
    scFocus: "Focus the message box", scStop: "Stop generating, close a panel", scCopy: "Copy the last answer",
    scTheme: "Light / dark", scHelp: "These shortcuts", scSend: "Send", scNewline: "New line",
    errorPrefix: "Error", retry: "Retry", loadFailed: "Could not load: {error}", untitled: "New conversation",
    noModels: "This server lists no chat model.",
  },
  zh: {
    newChat: "新对话", searchChats: "搜索对话", settings: "设置", shortcuts: "键盘快捷键",
    model: "模型", knowledgeBase: "知识库", noKb: "不使用知识库",
    greeting: "今天想聊点什么？",
    greetingHint: "尽管问。在上方选择一个知识库，回答会附上可以核对的出处。",
    placeholder: "给灵犀发消息…",
    send: "发送", stop: "停止生成", disclaimer: "Enter 发送，Shift+Enter 换行。回答来自本地模型，可能有误，请核对出处。",
    record: "语音输入", stopRecording: "停止录音", readAloud: "朗读",
    micDenied: "无法使用麦克风：{error}",
    copy: "复制", copied: "已复制", copyCode: "复制代码", good: "回答很好", bad: "回答不好",
    thanks: "感谢反馈", stopped: "已停止", thinking: "思考中…", searching: "正在检索知识库…",
    sources: "出处", page: "第 {n} 页", openFile: "打开文件", close: "关闭", passage: "引用的段落",
    passageMissing: "无法载入该段落：{error}",
    rename: "重命名", delete: "删除", deleteTitle: "删除这个对话？",
    deleteBody: "“{title}”及其全部消息将被删除，无法恢复。", cancel: "取消",
    today: "今天", yesterday: "昨天", week: "过去 7 天", older: "更早", noChats: "还没有对话",
    noMatch: "没有匹配的对话",
    keyTitle: "此服务器需要 API 密钥",
    keyBody: "粘贴用 “lingxi keys create NAME” 创建的密钥。密钥只保存在这个浏览器里。",
    keyLabel: "API 密钥", save: "保存", forgetKey: "清除密钥", keySaved: "API 密钥已保存",
    theme: "外观", themeSystem: "跟随系统", themeLight: "浅色", themeDark: "深色", toggleTheme: "浅色 / 深色",
    language: "语言", toggleLang: "EN", temperature: "温度", maxTokens: "最大 token 数",
    toggleSidebar: "显示或隐藏对话列表", closeSidebar: "关闭",
    scNew: "新对话", scSearch: "搜索对话", scSidebar: "显示或隐藏对话列表",
    scFocus: "聚焦输入框", scStop: "停止生成，关闭面板", scCopy: "复制最后一个回答",
    scTheme: "浅色 / 深色", scHelp: "显示快捷键", scSend: "发送", scNewline: "换行",
    errorPrefix: "出错了", retry: "重试", loadFailed: "载入失败：{error}", untitled: "新对话",
    noModels: "此服务器没有可用的对话模型。",
  },
};

let lang = pick();

function pick() {
  const saved = localStorage.getItem("lingxi-lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.languages || [navigator.language || "en"]).some((l) => /^zh\b/i.test(l)) ? "zh" : "en";
}

export function language() { return lang; }

export function setLanguage(value) {
  lang = value === "zh" ? "zh" : "en";
  localStorage.setItem("lingxi-lang", lang);
  apply();
}

export function t(key, vars = {}) {
  const text = WORDS[lang][key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function apply(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute("aria-label", el.title);
  }
  document.dispatchEvent(new CustomEvent("lingxi:language"));
}
