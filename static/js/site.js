// Progressive enhancement only: every page works without this file (the search is a plain GET form).
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Phones: filters fold away behind a button so the results come first.
  const form = document.getElementById("search-form");
  const toggle = document.querySelector(".filters-toggle");
  if (form && toggle) {
    const narrow = window.matchMedia("(max-width: 59.99rem)");
    const setOpen = function (open) {
      form.classList.toggle("filters-collapsed", !open);
      toggle.setAttribute("aria-expanded", String(open));
    };
    toggle.hidden = false;
    setOpen(!narrow.matches);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
  }

  // A swap re-renders the facets: keep open the ones the reader opened or closed.
  let openFacets = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "search-results") {
      openFacets = new Map();
      event.detail.target.querySelectorAll("details.facet[id]").forEach(function (details) {
        openFacets.set(details.id, details.open);
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "search-results") {
      return;
    }
    if (openFacets) {
      openFacets.forEach(function (open, id) {
        const details = document.getElementById(id);
        if (details) {
          details.open = open;
        }
      });
      openFacets = null;
    }
    // After a page link, start reading at the top of the new page of results.
    const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.hasAttribute("data-focus-results")) {
      const heading = document.getElementById("results-heading");
      if (heading) {
        heading.focus({ preventScroll: true });
        heading.scrollIntoView({ block: "start" });
      }
    }
  });

  // The language links keep the current search: htmx may have pushed a new query since the page loaded.
  document.querySelectorAll("a[data-language-link]").forEach(function (link) {
    link.addEventListener("click", function () {
      const url = new URL(link.href, window.location.href);
      link.href = url.pathname + window.location.search + window.location.hash;
    });
  });
})();

// "Compare" ticks belong to #compare-form, not to the search: their change must not re-run the search
// (htmx listens on the search form, an ancestor). Stopped while capturing, before it reaches the form.
document.addEventListener(
  "change",
  (event) => {
    if (event.target instanceof HTMLInputElement && event.target.getAttribute("form") === "compare-form") {
      event.stopPropagation();
    }
  },
  true,
);
