package taxi.lakehouse.flink;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.SchemaParseException;

import java.io.Serializable;

/**
 * Finds the Avro writer schema of a Confluent schema id. A seam so that {@link
 * DecodeTaxiEventTable} can be tested without a registry; {@link HttpSchemaLookup} is the real
 * one. Serializable because Flink ships the function instance (and so its lookup) to the workers.
 */
interface SchemaLookup extends Serializable {

    /**
     * The writer schema registered under {@code id}, or {@code null} when the registry does not
     * know the id (a data problem: the record is dead-lettered).
     *
     * @throws SchemaParseException when the id is known but its schema is not a usable Avro
     *     schema (also a data problem, reported as undecodable)
     * @throws RuntimeException any other failure (registry unreachable, 5xx, unexpected answer):
     *     an infrastructure problem, so the job must fail and be retried rather than dead-letter
     *     good records
     */
    Schema byId(String registryUrl, int id);
}
