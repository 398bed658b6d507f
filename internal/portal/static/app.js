// Sluice portal: small progressive enhancements. Every page works without
// this file; it only adds confirmations to buttons that ask for them.
document.addEventListener("click", function (e) {
  var el = e.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    e.preventDefault();
    e.stopPropagation();
  }
}, true);
