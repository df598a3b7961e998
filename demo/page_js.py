"""The page's own JavaScript: Gradio's labels follow the language switch (and `?lang=`)."""

# Gradio picks its locale from the browser and offers no API to change it from the page; its settings
# panel calls `changeLocale` of its core module. An ES module is one instance per URL, so importing that
# module again (its URL read from the loaded resources) reaches the same locale store.
SET_LOCALE = """
async (lang, ...rest) => {
  const url = performance.getEntriesByType('resource').map((e) => e.name)
    .find((n) => /\\/assets\\/core-[^/]*\\.js$/.test(n));
  if (url && lang) {
    const core = await import(url);
    core.changeLocale(lang === 'pt' ? 'pt-BR' : 'en');
  }
  return [lang, ...rest];
}
"""

PAGE_JS = ""  # nothing on load yet: the switch's first `change` (set on load) sets the locale
