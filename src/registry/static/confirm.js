/* Irreversible actions ask first: a form with data-confirm="…" (words from the catalogs) is
   sent only when the user agrees. Without JavaScript the form is sent as it is. */
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

/* A refusal's message is where the eye is: the page opens on it. */
document.addEventListener("DOMContentLoaded", function () {
  var refusal = document.querySelector("main [role=alert], main .alert-danger");
  if (refusal) {
    refusal.setAttribute("tabindex", "-1");
    refusal.scrollIntoView({block: "center"});
    refusal.focus({preventScroll: true});
  }
});
