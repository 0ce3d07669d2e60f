() => {
  // Keyboard shortcuts for blind labeling; active only while the Arena tab's buttons are visible and the focus is
  // not in a text field.
  const keys = {
    ArrowLeft: "arena-vote-left", ArrowRight: "arena-vote-right", ArrowUp: "arena-vote-both-good",
    ArrowDown: "arena-vote-both-bad", s: "arena-vote-skip", S: "arena-vote-skip", n: "arena-next", N: "arena-next",
  };
  document.addEventListener("keydown", (event) => {
    const target = event.target || {};
    const tag = (target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || target.isContentEditable) return;
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    const id = keys[event.key];
    const button = id && document.getElementById(id);
    if (!button || button.offsetParent === null || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
