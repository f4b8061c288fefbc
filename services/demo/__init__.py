"""`otklik demo`: the whole pipeline in one process on an in-process bus, over the bundled sample
of a fictional city, then the web app; and the bundled files every command falls back to."""
