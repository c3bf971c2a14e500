"""Knowledge-graph customer support: Northwind graph, guarded Cypher, grounded answers."""
