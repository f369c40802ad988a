/* The web chat page: a session (cookie) and its CSRF token, the proof of work, a long poll for what the bot says,
   and the resident's text, button presses, phone number and files sent to the bot's JSON API. */
"use strict";
(function () {
  // the page's words come from the server, from the bot's translations (bot/webchat/words.py)
  const T = JSON.parse(document.body.dataset.words || "{}");
  const lang = document.documentElement.lang;
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const state = { csrf: "", version: 0, shown: new Map(), busy: false, email: null };

  function say(text) { $("status").textContent = text || ""; }

  async function call(path, body, isForm) {
    const headers = { "X-Chat-CSRF": state.csrf };
    if (!isForm) headers["Content-Type"] = "application/json";
    const response = await fetch("/chat/api/" + path, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: isForm ? body : JSON.stringify(body || {}),
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    if (!response.ok) {
      const reason = answer.error || "failed";
      say(T[reason] || (response.status === 429 ? T.slow : T.failed));
      throw new Error(reason);
    }
    return answer;
  }

  // ----- Telegram's HTML, drawn through an allow-list -----------------------------------------------------------------
  const TAGS = { B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s", CODE: "code",
    PRE: "pre", BLOCKQUOTE: "blockquote", A: "a", "TG-SPOILER": "span", SPAN: "span" };

  function copy(from, into) {
    from.childNodes.forEach((node) => {
      if (node.nodeType === Node.TEXT_NODE) { into.appendChild(document.createTextNode(node.textContent)); return; }
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      const tag = TAGS[node.tagName];
      if (!tag) { copy(node, into); return; }
      const el = document.createElement(tag);
      if (tag === "a") {
        const href = node.getAttribute("href") || "";
        if (/^(https?:|tel:|mailto:)/i.test(href)) {
          el.href = href; el.target = "_blank"; el.rel = "noopener noreferrer";
        }
      }
      copy(node, el);
      into.appendChild(el);
    });
  }

  function rich(html) {
    const fragment = document.createDocumentFragment();
    copy(new DOMParser().parseFromString("<body>" + html, "text/html").body, fragment);
    return fragment;
  }

  // ----- drawing the chat -----------------------------------------------------------------------------------------------
  function buttonsOf(message) {
    const box = document.createElement("div");
    box.className = "inline";
    message.buttons.forEach((row) => {
      const line = document.createElement("div");
      line.className = "row";
      row.forEach((b) => {
        let el;
        if (b.url) {
          el = document.createElement("a");
          el.href = b.url; el.target = "_blank"; el.rel = "noopener noreferrer";
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.addEventListener("click", () => press(message.id, b.data, el));
        }
        el.textContent = b.text;
        line.appendChild(el);
      });
      box.appendChild(line);
    });
    return box;
  }

  function draw(message) {
    const old = state.shown.get(message.id);
    if (message.deleted) { if (old) { old.remove(); state.shown.delete(message.id); } return; }
    const li = document.createElement("li");
    li.className = "msg " + (message.bot ? "bot" : "me");
    const who = document.createElement("span");
    who.className = "sr";
    who.textContent = (message.bot ? T.bot : T.you) + ": ";
    li.appendChild(who);
    if (message.file) {
      if (message.file.kind === "photo") {
        const img = document.createElement("img");
        img.src = "/chat/" + message.file.url; img.alt = T.photo; img.loading = "lazy";
        li.appendChild(img);
      } else {
        const a = document.createElement("a");
        a.href = "/chat/" + message.file.url; a.textContent = "📄 " + (message.file.name || T.file);
        a.rel = "noopener"; a.setAttribute("download", message.file.name || "file");
        li.appendChild(a);
        li.appendChild(document.createElement("br"));
      }
    }
    li.appendChild(rich(message.html));
    if (message.buttons.length) li.appendChild(buttonsOf(message));
    if (old) { old.replaceWith(li); } else { $("log").appendChild(li); }
    state.shown.set(message.id, li);
  }

  function keyboard(rows) {
    const keys = $("keys");
    keys.textContent = "";
    rows.forEach((row) => {
      const line = document.createElement("div");
      line.className = "row";
      row.forEach((b) => {
        const el = document.createElement("button");
        el.type = "button";
        el.textContent = b.text;
        el.addEventListener("click", () => (b.contact ? askPhone() : send(b.text)));
        line.appendChild(el);
      });
      keys.appendChild(line);
    });
  }

  async function poll() {
    for (;;) {
      try {
        const response = await fetch("/chat/api/poll?after=" + state.version, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const page = await response.json();
        const atEnd = $("main").scrollHeight - $("main").scrollTop - $("main").clientHeight < 80;
        page.messages.forEach(draw);
        keyboard(page.keyboard);
        state.version = Math.max(state.version, page.version);
        if (page.messages.length && atEnd) $("main").scrollTop = $("main").scrollHeight;
        if ($("status").textContent === T.offline) say("");
      } catch (e) {
        say(T.offline);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  // ----- what the resident does ----------------------------------------------------------------------------------------
  async function send(text) {
    text = (text || "").trim();
    if (!text) return;
    try { await call("say", { text: text }); say(""); return true; } catch (e) { return false; }
  }

  async function press(messageId, data, el) {
    el.disabled = true;
    try {
      const answer = await call("press", { message_id: messageId, data: data });
      say(answer.popup || "");
    } catch (e) { /* the status line says why */ } finally { el.disabled = false; }
  }

  function askPhone() { $("phone").value = ""; $("phonedialog").showModal(); $("phone").focus(); }

  async function upload(file) {
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) { say(T.too_big); return; }
    const form = new FormData();
    form.append("caption", $("text").value.trim());
    form.append("file", file, file.name);
    try { await call("upload", form, true); $("text").value = ""; say(""); } catch (e) { /* said */ }
    $("file").value = "";
  }

  async function showDevice() {
    $("devdialog").showModal();
    try {
      const link = await call("link");
      $("devcode").textContent = link.code;
      $("devlink").textContent = link.url; $("devlink").href = link.url;
    } catch (e) { /* said */ }
  }

  // the e-mail notice: only when the server says the deployment sends e-mail (hello's "email")
  function showEmail() {
    $("emailhelp").textContent = (T.email_help || "").replace("{hours}", String(state.email.hours));
    $("emailinput").value = state.email.address || "";
    $("emailproblem").textContent = "";
    $("emaildialog").showModal();
    $("emailinput").focus();
  }

  async function saveEmail() {
    try {
      const answer = await call("email", { email: $("emailinput").value.trim() });
      state.email.address = answer.email;
      $("emaildialog").close();
      say(answer.email ? T.email_saved : T.email_removed);
    } catch (e) { $("emailproblem").textContent = $("status").textContent; }
  }

  async function useCode(code) {
    try {
      const answer = await call("continue", { code: code });
      state.csrf = answer.csrf;
      location.replace(location.pathname + location.search);
    } catch (e) { say(T.no_code); }
  }

  function wire() {
    $("compose").addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = $("text");
      if (await send(box.value)) box.value = "";
      box.focus();
    });
    $("text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("compose").requestSubmit(); }
    });
    $("file").addEventListener("change", () => upload($("file").files[0]));
    $("device").addEventListener("click", showDevice);
    $("devclose").addEventListener("click", () => $("devdialog").close());
    $("devform").addEventListener("submit", (event) => { event.preventDefault(); useCode($("devinput").value); });
    $("email").addEventListener("click", showEmail);
    $("emailclose").addEventListener("click", () => $("emaildialog").close());
    $("emailform").addEventListener("submit", (event) => { event.preventDefault(); saveEmail(); });
    $("phonecancel").addEventListener("click", () => $("phonedialog").close());
    $("phoneform").addEventListener("submit", async (event) => {
      event.preventDefault();
      const phone = $("phone").value.trim();
      if (!phone) return;
      try { await call("contact", { phone: phone }); $("phonedialog").close(); } catch (e) { /* said */ }
    });
  }

  async function begin() {
    wire();
    const code = (location.hash.match(/code=([A-Za-z0-9-]+)/) || [])[1];
    if (code) {
      history.replaceState(null, "", location.pathname + location.search);
      try { const answer = await call("continue", { code: code }); state.csrf = answer.csrf; } catch (e) { say(T.no_code); }
    }
    let hello;
    for (;;) {
      try { hello = await call("hello", { community: params.get("community"), lang: lang }); break; } catch (e) {
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    state.csrf = hello.csrf;
    state.email = hello.email || null;
    $("email").hidden = !state.email;
    if (!hello.proven) {
      say(T.checking);
      const nonce = await window.solvePow(hello.challenge, hello.bits);
      await call("prove", { nonce: nonce });
      say("");
    }
    $("text").focus();
    poll();
  }

  document.addEventListener("DOMContentLoaded", begin);
})();
