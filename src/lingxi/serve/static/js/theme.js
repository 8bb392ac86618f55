// Runs in <head>, before the page is drawn: the saved theme (or the system's), so a dark page never flashes white.
(() => {
  const saved = localStorage.getItem("lingxi-theme");
  const dark = saved ? saved === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
})();
