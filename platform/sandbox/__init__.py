"""Running untrusted, model-written code: the bubblewrap sandbox (`runner`), the languages it
compiles and runs (`languages`), code extraction from replies (`extract`), and process-tree
control (`procs`). Shared by every service that executes generated code and by the router's
evaluation (`platform/evals/verify.py`)."""
