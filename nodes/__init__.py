"""keel's agents, one per file, and what they share: the state and context types every node reads
(`nodes.state`, `nodes.context`), the tool runner and the approval node. Nodes import tools/, never graphs/:
a graph in graphs/ composes them (the support graph's workers are its `WORKERS`)."""
