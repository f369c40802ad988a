/* Web chat of the Bot API sandbox: plain JavaScript talking to the control API (/sandbox/...). */
"use strict";

// Times as the bot writes them: Kyiv time, whatever the time zone of the computer showing the chat.
const KYIV_TIME = new Intl.DateTimeFormat("uk-UA", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Kyiv" });
function kyivTime(seconds) {
  return KYIV_TIME.format(new Date(seconds * 1000));
}

const S = {
  users: [], bots: [], groups: [], botId: 0,
  userId: null, chat: "private", threadId: 0,
  messages: new Map(), rev: 0, stickToBottom: true, autoScrollTop: 0, keyboard: null, showHiddenKeyboard: false,
  replyTo: null, pollToken: 0, pollAbort: null,
};

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};

/* ---------- control API ---------- */

/* The control token the server put into this page (the API refuses requests without it). */
const TOKEN = (document.querySelector('meta[name="sandbox-token"]') || {}).content || "";

async function api(path, { method = "GET", body, signal } = {}) {
  const options = { method, signal, headers: { "X-Sandbox-Token": TOKEN } };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

const isGroup = () => S.chat !== "private" && !String(S.chat).startsWith("bot:");
const chatBotId = () => (String(S.chat).startsWith("bot:") ? Number(S.chat.slice(4)) : S.botId);
const currentGroup = () => S.groups.find((g) => String(g.id) === String(S.chat));
const me = () => S.users.find((u) => u.id === S.userId);

function chatPath() {
  const id = isGroup() ? S.chat : S.userId;
  return `/sandbox/chats/${id}/messages?bot_id=${chatBotId() || ""}`;
}

function target(extra = {}) {
  const body = { user_id: S.userId, bot_id: chatBotId() || undefined, ...extra };
  if (isGroup()) {
    body.chat_id = Number(S.chat);
    if (S.threadId) body.message_thread_id = S.threadId;
  }
  return body;
}

/* ---------- state: users, bots, groups ---------- */

async function loadState() {
  const state = await api("/sandbox/state");
  const signature = JSON.stringify([state.users, state.bots.map((b) => [b.id, b.username]), state.groups, state.default_bot_id]);
  S.users = state.users;
  S.bots = state.bots;
  S.groups = state.groups;
  S.botId = state.default_bot_id;
  if (S.userId && !S.users.some((u) => u.id === S.userId)) S.userId = null;
  if (!S.userId && S.users.length) S.userId = Number(localStorage.getItem("sandbox.user")) || S.users[0].id;
  if (!S.users.some((u) => u.id === S.userId)) S.userId = S.users.length ? S.users[0].id : null;
  if (signature === S.signature) return false;
  S.signature = signature;
  renderSelectors();
  return true;
}

function memberOf(group, userId) {
  return group.members.some((m) => m.user && m.user.id === userId && ["creator", "administrator", "member"].includes(m.status));
}

function renderSelectors() {
  const users = $("user-select");
  users.replaceChildren(...S.users.map((u) => el("option", {
    value: u.id, text: `${u.first_name}${u.last_name ? " " + u.last_name : ""}${u.username ? " @" + u.username : ""} · ${u.id}`,
  })));
  if (S.userId) users.value = String(S.userId);

  const chats = $("chat-select");
  const options = [];
  const bots = S.bots.length ? S.bots : [];
  for (const bot of bots) {
    const value = bot.id === S.botId ? "private" : `bot:${bot.id}`;
    options.push(el("option", { value, text: `🤖 ${bot.first_name} (@${bot.username})` }));
  }
  if (!bots.length) options.push(el("option", { value: "private", text: "🤖 Бот ще не підключився (bot not connected yet)" }));
  for (const group of S.groups.filter((g) => memberOf(g, S.userId))) {
    options.push(el("option", { value: String(group.id), text: `👥 ${group.title}` }));
  }
  chats.replaceChildren(...options);
  if (![...chats.options].some((o) => o.value === String(S.chat))) S.chat = "private";
  chats.value = String(S.chat);
  renderTopics();
  $("empty").hidden = Boolean(S.userId);
}

function renderTopics() {
  const group = isGroup() ? currentGroup() : null;
  $("topics").hidden = !(group && group.is_forum);
  if (!group || !group.is_forum) return;
  const tabs = [{ message_thread_id: 0, name: "Загальна (General)" }, ...group.topics];
  $("topic-tabs").replaceChildren(...tabs.map((topic) => el("button", {
    type: "button", role: "tab", class: topic.is_closed ? "closed" : "",
    "aria-selected": String(topic.message_thread_id === S.threadId), "data-thread": topic.message_thread_id,
    text: topic.name, onclick: () => { S.threadId = topic.message_thread_id; renderTopics(); renderMessages(true); },
  })));
}

/* ---------- messages ---------- */

async function openChat() {
  S.pollToken += 1;
  if (S.pollAbort) S.pollAbort.abort();
  S.pollAbort = null;
  S.messages.clear();
  S.keyboard = null;
  S.replyTo = null;
  renderReply();
  renderMessages(true);
  renderKeyboard();
  if (!S.userId || (!isGroup() && !chatBotId())) return;
  const token = S.pollToken;
  try {
    const data = await api(chatPath());
    if (token !== S.pollToken) return;
    applyChat(data, true);
  } catch (error) {
    toast(error.message);
    return;
  }
  pollLoop(token);
}

async function pollLoop(token) {
  while (token === S.pollToken) {
    S.pollAbort = new AbortController();
    try {
      const data = await api(`${chatPath()}&since_rev=${S.rev}&wait=25`, { signal: S.pollAbort.signal });
      if (token !== S.pollToken) return;
      applyChat(data, false);
    } catch (error) {
      if (token !== S.pollToken) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function applyChat(data, full) {
  if (full) S.messages.clear();
  for (const message of data.messages) {
    if (message.deleted) S.messages.delete(message.message_id);
    else S.messages.set(message.message_id, message);
  }
  S.rev = Math.max(S.rev, data.rev);
  S.keyboard = data.reply_keyboard;
  $("typing").hidden = !data.action;
  renderMessages(full);
  renderKeyboard();
}

function inThread(message) {
  const group = isGroup() ? currentGroup() : null;
  if (!group || !group.is_forum) return true;
  return (message.message_thread_id || 0) === S.threadId;
}

function renderMessages(scrollDown) {
  const box = $("chat");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const list = [...S.messages.values()].filter(inThread).sort((a, b) => a.message_id - b.message_id);
  $("messages").replaceChildren(...list.map(renderMessage));
  S.stickToBottom = scrollDown || nearBottom;
  keepAtBottom();
}

function keepAtBottom() {
  const box = $("chat");
  if (!S.stickToBottom) return;
  box.scrollTop = box.scrollHeight;
  S.autoScrollTop = box.scrollTop;
}

function authorName(user) {
  if (!user) return "";
  return user.is_bot ? `🤖 ${user.first_name}` : `${user.first_name}${user.last_name ? " " + user.last_name : ""}`;
}

function serviceText(m) {
  if (m.forum_topic_created) return `Тему створено: ${m.forum_topic_created.name} (topic created)`;
  if (m.forum_topic_edited) return `Тему змінено (topic edited)${m.forum_topic_edited.name ? ": " + m.forum_topic_edited.name : ""}`;
  if (m.forum_topic_closed) return "Тему закрито (topic closed)";
  if (m.forum_topic_reopened) return "Тему відкрито знову (topic reopened)";
  return "Службове повідомлення (service message)";
}

function renderMessage(m) {
  const mine = m.from && m.from.id === S.userId;
  if (m.forum_topic_created || m.forum_topic_edited || m.forum_topic_closed || m.forum_topic_reopened) {
    return el("li", { class: "message service", "data-id": m.message_id, text: serviceText(m) });
  }
  const item = el("li", { class: `message ${mine ? "mine" : "theirs"} from-${m.sender}`, "data-id": m.message_id });
  if (!mine && (isGroup() || m.forward_origin)) item.append(el("div", { class: "author", text: authorName(m.from) }));
  if (m.forward_origin) item.append(el("div", { class: "quote", text: `↪ ${authorName(m.forward_origin.sender_user)}` }));
  const quoted = m.reply_to_message;
  if (quoted && !quoted.forum_topic_created) {
    item.append(el("div", { class: "quote", text: `${authorName(quoted.from)}: ${(quoted.text || quoted.caption || "📎").slice(0, 120)}` }));
  }
  renderAttachment(m, item);
  if (m.html || m.text || m.caption) {
    const body = el("div", { class: "body" });
    body.append(sanitize(m.html || ""));
    item.append(body);
  }
  if (m.reply_markup && m.reply_markup.inline_keyboard) item.append(renderInlineKeyboard(m));
  const time = kyivTime(m.date);
  const meta = el("div", { class: "meta" }, `${m.edit_date ? "ред. (edited) · " : ""}${time} `);
  meta.append(el("button", { type: "button", class: "link reply", title: "Відповісти (Reply)", "aria-label": "Відповісти (Reply)", text: "↩", onclick: () => setReply(m) }));
  item.append(meta);
  return item;
}

function fileUrl(fileId) {
  return `/sandbox/files/${encodeURIComponent(fileId)}?token=${encodeURIComponent(TOKEN)}`;
}

function renderAttachment(m, item) {
  if (m.photo) {
    const largest = m.photo[m.photo.length - 1];
    item.append(el("img", { class: "photo", src: fileUrl(largest.file_id), alt: "Фото (photo)", onload: keepAtBottom }));
  }
  if (m.document) {
    item.append(el("a", { class: "attachment", href: fileUrl(m.document.file_id), download: m.document.file_name || "file", text: `📄 ${m.document.file_name || "файл (file)"}` }));
  }
  if (m.voice) item.append(el("div", { class: "attachment", text: `🎤 Голосове (voice) · ${m.voice.duration} с` }));
  if (m.audio) item.append(el("div", { class: "attachment", text: `🎵 ${m.audio.file_name || "audio"}` }));
  if (m.video) item.append(el("div", { class: "attachment", text: "🎬 Відео (video)" }));
  if (m.contact) {
    const phone = m.contact.phone_number;
    item.append(el("div", { class: "attachment" }, `👤 ${m.contact.first_name}: `,
      el("a", { href: `tel:${phone.replace(/[^\d+]/g, "")}`, text: phone })));
  }
  if (m.location) item.append(el("div", { class: "attachment", text: `📍 ${m.location.latitude}, ${m.location.longitude}` }));
}

/* Telegram HTML: parse inertly, then rebuild with the allowed tags only (everything else is text). */
const TAGS = {
  B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s",
  CODE: "code", PRE: "pre", BLOCKQUOTE: "blockquote", A: "a", "TG-SPOILER": "spoiler", SPAN: "spoiler", "TG-EMOJI": "emoji",
};

function sanitize(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  const out = document.createDocumentFragment();
  copyAllowed(template.content, out);
  return out;
}

function safeHref(href) {
  try {
    const url = new URL(href, location.href);
    return ["http:", "https:", "tel:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch (error) {
    return null;
  }
}

function copyAllowed(source, destination) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      destination.append(document.createTextNode(node.textContent));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const kind = TAGS[node.tagName];
    let clean = null;
    if (kind === "spoiler" && (node.tagName !== "SPAN" || node.getAttribute("class") === "tg-spoiler")) {
      clean = el("span", { class: "spoiler", title: "Спойлер (spoiler)" });
      clean.addEventListener("click", () => clean.classList.toggle("shown"));
    } else if (kind === "emoji") {
      clean = el("span");
    } else if (kind === "a") {
      const href = safeHref(node.getAttribute("href") || "");
      if (href) {
        clean = el("a", { href });
        if (!/^(tel|mailto):/.test(href)) { clean.target = "_blank"; clean.rel = "noopener noreferrer"; }
      }
    } else if (kind && kind !== "spoiler") {
      clean = document.createElement(kind);
    }
    if (clean) {
      copyAllowed(node, clean);
      destination.append(clean);
    } else {
      copyAllowed(node, destination);
    }
  }
}

function renderInlineKeyboard(m) {
  const box = el("div", { class: "inline-keyboard" });
  for (const row of m.reply_markup.inline_keyboard) {
    const line = el("div", { class: "kb-row" });
    for (const button of row) {
      line.append(el("button", {
        type: "button", class: "inline-button", text: button.url ? `${button.text} ↗` : button.text,
        onclick: () => pressInline(m, button),
      }));
    }
    box.append(line);
  }
  return box;
}

async function pressInline(m, button) {
  if (button.url) { window.open(button.url, "_blank", "noopener"); return; }
  if (button.copy_text) { navigator.clipboard && navigator.clipboard.writeText(button.copy_text.text); toast("Скопійовано (copied)"); return; }
  if (button.callback_data === undefined) { toast("Ця кнопка не підтримується (not supported)"); return; }
  try {
    const body = target({ message_id: m.message_id, callback_data: button.callback_data });
    delete body.message_thread_id;
    const query = await api("/sandbox/press", { method: "POST", body });
    const answer = await api(`/sandbox/callback_answers/${query.id}?timeout=15`);
    if (answer.text) answer.show_alert ? showAlert(answer.text) : toast(answer.text);
    if (answer.url) window.open(answer.url, "_blank", "noopener");
  } catch (error) {
    toast(error.message);
  }
}

/* ---------- reply keyboard and replies ---------- */

function renderKeyboard() {
  const box = $("keyboard");
  const keyboard = S.keyboard;
  if (!keyboard || !keyboard.markup || !keyboard.markup.keyboard) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  if (keyboard.hidden && !S.showHiddenKeyboard) {
    box.replaceChildren(el("button", { type: "button", class: "secondary", text: "⌨ Показати кнопки (show buttons)", onclick: () => { S.showHiddenKeyboard = true; renderKeyboard(); } }));
    return;
  }
  box.replaceChildren(...keyboard.markup.keyboard.map((row) => el("div", { class: "kb-row" },
    ...row.map((button) => el("button", {
      type: "button", class: "reply-button", text: button.text, onclick: () => pressReply(button),
    })))));
}

async function pressReply(button) {
  S.showHiddenKeyboard = false;
  if (button.request_contact) return shareContact();
  if (button.request_location) return send({ location: { latitude: 50.4501, longitude: 30.5234 } });
  return send({ text: button.text });
}

function setReply(m) {
  S.replyTo = m;
  renderReply();
  $("message-input").focus();
}

function renderReply() {
  $("reply-bar").hidden = !S.replyTo;
  if (S.replyTo) $("reply-text").textContent = `↩ ${authorName(S.replyTo.from)}: ${(S.replyTo.text || S.replyTo.caption || "📎").slice(0, 80)}`;
}

/* ---------- sending ---------- */

async function send(content) {
  if (!S.userId) { openUserDialog(); return; }
  const body = target(content);
  if (S.replyTo) body.reply_to_message_id = S.replyTo.message_id;
  try {
    const message = await api("/sandbox/send", { method: "POST", body });
    S.messages.set(message.message_id, message);
    S.replyTo = null;
    renderReply();
    renderMessages(true);
  } catch (error) {
    toast(error.message);
  }
}

function shareContact() {
  return send({ contact: {} });
}

async function sendText(event) {
  event.preventDefault();
  const input = $("message-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  autoGrow();
  await send({ text });
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function attachFile() {
  const file = $("file-input").files[0];
  $("file-input").value = "";
  if (!file) return;
  const content = await readFile(file);
  const caption = $("message-input").value.trim() || undefined;
  $("message-input").value = "";
  if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) await send({ photo: { content_b64: content, file_name: file.name }, caption });
  else await send({ document: { file_name: file.name, content_b64: content, mime_type: file.type || undefined }, caption });
}

function autoGrow() {
  const input = $("message-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

/* ---------- dialogs ---------- */

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert-dialog").showModal();
}

function openUserDialog() {
  $("user-form").reset();
  $("user-dialog").showModal();
  $("new-user-name").focus();
}

async function createUser(event) {
  event.preventDefault();
  const name = $("new-user-name").value.trim();
  if (!name) return;
  try {
    const user = await api("/sandbox/users", {
      method: "POST",
      body: {
        first_name: name, last_name: $("new-user-last").value.trim(), username: $("new-user-username").value.trim(),
        language_code: $("new-user-lang").value, id: $("new-user-id").value.trim() || undefined,
      },
    });
    $("user-dialog").close();
    S.userId = user.id;
    localStorage.setItem("sandbox.user", String(user.id));
    S.chat = "private";
    S.signature = null;
    await loadState();
    await openChat();
  } catch (error) {
    toast(error.message);
  }
}

function openGroupDialog() {
  if (!S.userId) { openUserDialog(); return; }
  $("group-form").reset();
  $("new-group-members").replaceChildren(...S.users.map((u) => el("label", { class: "check" },
    el("input", { type: "checkbox", value: u.id, ...(u.id === S.userId ? { checked: "" } : {}) }), ` ${u.first_name} ${u.last_name || ""} · ${u.id}`)));
  $("group-dialog").showModal();
}

async function createGroup(event) {
  event.preventDefault();
  const members = [...$("new-group-members").querySelectorAll("input:checked")].map((i) => Number(i.value));
  if (!members.includes(S.userId)) members.unshift(S.userId);
  try {
    const group = await api("/sandbox/groups", {
      method: "POST",
      body: { title: $("new-group-title").value.trim(), forum: $("new-group-forum").checked, admins: [S.userId], members },
    });
    $("group-dialog").close();
    S.chat = String(group.id);
    S.threadId = 0;
    S.signature = null;
    await loadState();
    await openChat();
  } catch (error) {
    toast(error.message);
  }
}

async function createTopic(event) {
  event.preventDefault();
  try {
    const topic = await api(`/sandbox/groups/${S.chat}/topics`, {
      method: "POST", body: { user_id: S.userId, name: $("new-topic-name").value.trim() },
    });
    $("topic-dialog").close();
    S.threadId = topic.message_thread_id;
    S.signature = null;
    await loadState();
    renderMessages(true);
  } catch (error) {
    toast(error.message);
  }
}

/* ---------- wiring ---------- */

function wire() {
  $("user-select").addEventListener("change", async (event) => {
    S.userId = Number(event.target.value);
    localStorage.setItem("sandbox.user", String(S.userId));
    S.chat = "private";
    renderSelectors();
    await openChat();
  });
  $("chat-select").addEventListener("change", async (event) => {
    S.chat = event.target.value;
    S.threadId = 0;
    renderTopics();
    await openChat();
  });
  $("new-user").addEventListener("click", openUserDialog);
  $("new-group").addEventListener("click", openGroupDialog);
  $("new-topic").addEventListener("click", () => { $("topic-form").reset(); $("topic-dialog").showModal(); });
  $("user-form").addEventListener("submit", createUser);
  $("group-form").addEventListener("submit", createGroup);
  $("topic-form").addEventListener("submit", createTopic);
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  $("send-form").addEventListener("submit", sendText);
  $("message-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) sendText(event);
  });
  $("message-input").addEventListener("input", autoGrow);
  $("chat").addEventListener("scroll", () => {
    const box = $("chat");
    if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) S.stickToBottom = true;
    else if (box.scrollTop < S.autoScrollTop - 8) S.stickToBottom = false;
  });
  $("attach").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", attachFile);
  $("contact").addEventListener("click", shareContact);
  $("reply-cancel").addEventListener("click", () => { S.replyTo = null; renderReply(); });
}

async function refreshState() {
  try {
    const before = [S.userId, S.chat];
    const changed = await loadState();
    const moved = before[0] !== S.userId || before[1] !== S.chat;
    if (changed && (moved || !S.pollAbort)) await openChat();
  } catch (error) {
    /* the server may be restarting: try again on the next tick */
  }
}

async function start() {
  wire();
  try {
    await loadState();
  } catch (error) {
    toast(error.message);
  }
  await openChat();
  setInterval(refreshState, 4000);
}

start();
