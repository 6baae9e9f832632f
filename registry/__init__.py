"""Native Confluent-compatible schema registry (Apicurio Registry); see README.md."""
