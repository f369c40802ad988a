/* The web chat on a community's website: <script src="https://BOT/chat/widget.js" data-community="lutsk" defer>.
   It adds a button that opens the chat in an iframe of the bot's own origin (the community's page never sees what
   the resident writes, and the chat needs no third-party cookie of the community's site). Options:
   data-community (the community's slug), data-lang ("uk" or "en"), data-label (the button's text). */
"use strict";
(function () {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  const community = script.dataset.community || "";
  const WORDS = "{{widget_words}}";  // filled by the server from the bot's translations (bot/webchat/words.py)
  const lang = WORDS[script.dataset.lang] ? script.dataset.lang : "uk";
  const label = script.dataset.label || WORDS[lang].open;
  const close = WORDS[lang].close;
  const query = new URLSearchParams({ lang: lang });
  if (community) query.set("community", community);

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "hromada-chat");
  Object.assign(button.style, {
    position: "fixed", right: "1rem", bottom: "1rem", zIndex: "2147483000", font: "600 18px/1.3 system-ui, sans-serif",
    padding: "0.8rem 1.1rem", borderRadius: "2rem", border: "2px solid #fff", background: "#0b4f9c", color: "#fff",
    cursor: "pointer", boxShadow: "0 2px 8px rgba(0,0,0,.35)",
  });

  const panel = document.createElement("div");
  panel.id = "hromada-chat";
  panel.hidden = true;
  Object.assign(panel.style, {
    position: "fixed", right: "1rem", bottom: "5rem", zIndex: "2147483000", width: "min(26rem, calc(100vw - 2rem))",
    height: "min(40rem, calc(100vh - 7rem))", background: "#fff", border: "2px solid #0b4f9c", borderRadius: "0.6rem",
    boxShadow: "0 4px 16px rgba(0,0,0,.35)", display: "flex", flexDirection: "column", overflow: "hidden",
  });
  const shut = document.createElement("button");
  shut.type = "button";
  shut.textContent = "✕";
  shut.setAttribute("aria-label", close);
  Object.assign(shut.style, { alignSelf: "flex-end", font: "700 18px system-ui, sans-serif", minWidth: "2.75rem",
    minHeight: "2.75rem", border: "0", background: "#0b4f9c", color: "#fff", cursor: "pointer" });
  const frame = document.createElement("iframe");
  frame.title = label;
  Object.assign(frame.style, { flex: "1", width: "100%", border: "0" });
  panel.appendChild(shut);
  panel.appendChild(frame);

  function toggle(open) {
    if (open && !frame.src) frame.src = origin + "/chat?" + query.toString();
    panel.hidden = !open;
    panel.style.display = open ? "flex" : "none";
    button.setAttribute("aria-expanded", String(open));
    (open ? frame : button).focus();
  }
  button.addEventListener("click", () => toggle(panel.hidden));
  shut.addEventListener("click", () => toggle(false));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !panel.hidden) toggle(false); });
  panel.style.display = "none";
  document.body.appendChild(panel);
  document.body.appendChild(button);
})();
