"""The pass@k harness: problems in HumanEval's shape (`problems`), the unbiased estimator
(`passk`), and checking solutions or generated candidates through the sandbox (`checks`)."""
