() => {
  // The page's language for text the server writes (summaries, errors): kept in a cookie that every request
  // carries, and updated when Gradio's Settings switch the language (it sets <html lang>).
  const rememberLocale = () => {
    const locale = document.documentElement.lang || navigator.language || "en";
    document.cookie = `studio-locale=${encodeURIComponent(locale)}; path=/; SameSite=Lax`;
  };
  rememberLocale();
  new MutationObserver(rememberLocale).observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});

  // The queue position while a job waits, in a bar everyone sees (Gradio shows it only as small text in the corner
  // of the output). The wording comes from a hidden, translated element of the page.
  const queueBar = document.createElement("div");
  queueBar.id = "studio-queue";
  queueBar.setAttribute("role", "status");
  queueBar.hidden = true;
  document.body.appendChild(queueBar);
  const showQueue = () => {
    let waiting = null;
    for (const tracker of document.querySelectorAll("[data-testid=status-tracker]")) {
      const match = /queue:\s*(\d+)\s*\/\s*(\d+)/.exec(tracker.innerText || "");
      if (match && tracker.offsetParent !== null) { waiting = match; break; }
    }
    const template = document.querySelector("#studio-queue-template");
    const wording = (template && template.textContent.trim()) || "{position} / {total}";
    queueBar.hidden = !waiting;
    if (waiting) queueBar.textContent = wording.replace("{position}", waiting[1]).replace("{total}", waiting[2]);
  };
  let pending = false;  // at most one check per frame, however many nodes change
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; showQueue(); });
  }).observe(document.body, {subtree: true, childList: true, characterData: true});

  // Keyboard shortcuts for blind labeling; active only while the Arena tab's buttons are visible and enabled and
  // the focus is not in a text field. After a vote only Next is enabled, so a second key press cannot vote twice.
  const keys = {
    ArrowLeft: "arena-vote-left", ArrowRight: "arena-vote-right", ArrowUp: "arena-vote-both-good",
    ArrowDown: "arena-vote-both-bad", s: "arena-vote-skip", S: "arena-vote-skip", n: "arena-continue",
    N: "arena-continue", Enter: "arena-continue",
  };
  document.addEventListener("keydown", (event) => {
    const target = event.target || {};
    const tag = (target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || target.isContentEditable) return;
    if (event.key === "Enter" && tag === "button") return;  // the focused button handles its own Enter
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    const id = keys[event.key];
    const button = id && document.getElementById(id);
    if (!button || button.offsetParent === null || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
