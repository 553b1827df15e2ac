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

  // The language switcher returns to this page with its current search (the URL may have changed since
  // the page loaded, as htmx pushes each search).
  document.querySelectorAll(".language-switcher__form").forEach(function (switcher) {
    switcher.addEventListener("submit", function () {
      const next = switcher.querySelector("input[data-keep-query]");
      if (next) {
        const url = new URL(next.value, window.location.href);
        next.value = url.pathname + window.location.search + window.location.hash;
      }
    });
  });
})();
