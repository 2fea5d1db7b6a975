"""The pages of the Threadline explorer, one module each, plus the plumbing they share.

- :mod:`app_pages.shell`: page registry, navigation and the store check;
- :mod:`app_pages.state`: view state kept in the URL (``st.query_params``);
- :mod:`app_pages.data`: cached, read-only questions to the store and the graph backend;
- :mod:`app_pages.text`: showing hostile email text safely (and masking passwords);
- :mod:`app_pages.overview`, :mod:`~app_pages.network`, :mod:`~app_pages.people`,
  :mod:`~app_pages.messages`: one page each, a ``render()`` function.

Email text is hostile: pages show it with ``st.text``, ``st.code`` and ``st.dataframe``
only, never with markdown or ``unsafe_allow_html``.
"""
