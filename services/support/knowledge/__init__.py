"""What the knowledge graph holds: the Northwind load, known issues (from YAML or extracted
from articles), tolerant reads and the subgraph behind an answer."""
