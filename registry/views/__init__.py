"""HTML views of the registry domain (htmx-enhanced, every page works without JavaScript).

One module per view group; ``access`` decides who may do what, ``rendering`` picks a page or
one of its fragments. Views parse, authorize, call a service or selector, and render.
"""
