// Small behaviours without inline scripts (the content security policy forbids them).
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches("[data-autosubmit]")) {
    target.form.submit();
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
