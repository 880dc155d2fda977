// The error summary (templates/macros.html) takes the focus when a page with one loads; the
// markup asks for it with autofocus, this does it where a browser ignores that. A link in it
// moves the focus to its field (a fragment link alone only scrolls there). The pages work
// without this file.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  if (document.activeElement === document.body || document.activeElement === null) {
    summary.focus();
  }
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target) {
      event.preventDefault();
      target.focus();
      var label = document.querySelector("label[for='" + target.id + "']");
      (label || target).scrollIntoView();
    }
  });
});
