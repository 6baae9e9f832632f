package taxi.lakehouse.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.apache.flink.avro.shaded.org.apache.avro.SchemaParseException;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** HttpSchemaLookup against a JDK HttpServer playing a Confluent-compatible registry. */
class HttpSchemaLookupTest {

    static final String PREFIX = "/apis/ccompat/v7";

    HttpServer server;
    String root;
    String url;
    final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    /** {"schema": "<text>"} plus extra fields, as the registry answers. */
    static String schemaResponse(String schemaText, String schemaType) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.writeStartObject();
            if (schemaType != null) {
                g.writeStringField("schemaType", schemaType);
            }
            g.writeStringField("schema", schemaText);
            g.writeArrayFieldStart("references");
            g.writeEndArray();
            g.writeEndObject();
        }
        return out.toString();
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(PREFIX + "/", exchange -> {
            String path = exchange.getRequestURI().getPath().substring(PREFIX.length());
            hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            switch (path) {
                case "/schemas/ids/1" -> respond(exchange, 200, schemaResponse(DecodeTaxiEventTableTest.V1.toString(), null));
                case "/schemas/ids/2" -> respond(exchange, 404, "{\"error_code\":40403,\"message\":\"Schema 2 not found\"}");
                case "/schemas/ids/3" -> respond(exchange, 500, "{\"error_code\":50001,\"message\":\"store down\"}");
                case "/schemas/ids/4" -> respond(exchange, 200, schemaResponse("syntax = \"proto3\";", "PROTOBUF"));
                case "/schemas/ids/5" -> respond(exchange, 200, "<html>login</html>");
                case "/config" -> respond(exchange, 200, "{\"compatibilityLevel\":\"BACKWARD\"}");
                default -> respond(exchange, 404, "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}");
            }
        });
        // outside the API prefix: a plain web server's 404 for everything
        server.createContext("/", exchange -> respond(exchange, 404, "not found"));
        server.start();
        root = "http://127.0.0.1:" + server.getAddress().getPort();
        url = root + PREFIX;
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void okUnknownAndServerError() {
        HttpSchemaLookup lookup = new HttpSchemaLookup();
        assertEquals(DecodeTaxiEventTableTest.V1, lookup.byId(url, 1));
        assertEquals(DecodeTaxiEventTableTest.V1, lookup.byId(url + "/", 1)); // trailing slash
        assertNull(lookup.byId(url, 2));

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> lookup.byId(url, 3));
        assertTrue(e.getMessage().contains(url + "/schemas/ids/3"), e.getMessage());
        assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
        assertTrue(e.getMessage().contains("schema id 3"), e.getMessage());
    }

    @Test
    void answersThatAreNotAnAvroSchema() {
        HttpSchemaLookup lookup = new HttpSchemaLookup();
        // a known id whose schema is not Avro: the records are undecodable, not the registry's fault
        assertThrows(SchemaParseException.class, () -> lookup.byId(url, 4));
        // a 200 that is not a registry answer at all: a configuration problem, fail the job
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> lookup.byId(url, 5));
        assertTrue(e.getMessage().contains("not understood"), e.getMessage());
    }

    @Test
    void a404FromSomethingThatIsNotARegistryThrows() {
        // the base URL without /apis/ccompat/v7: every id would be "unknown"
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new HttpSchemaLookup().byId(root, 1));
        assertTrue(e.getMessage().contains("/config"), e.getMessage());
        // a real registry's 404 is confirmed once per base URL
        HttpSchemaLookup lookup = new HttpSchemaLookup();
        assertNull(lookup.byId(url, 2));
        assertNull(lookup.byId(url, 6));
        assertEquals(1, hits.get("/config").get());
    }

    @Test
    void unreachableRegistryThrows() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String dead = "http://127.0.0.1:" + closedPort + PREFIX;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new HttpSchemaLookup().byId(dead, 1));
        assertTrue(e.getMessage().contains("unreachable") && e.getMessage().contains(dead), e.getMessage());
    }

    @Test
    void decodeTaxiEventEndToEndFetchesEachIdOnce() {
        DecodeTaxiEventTable f = new DecodeTaxiEventTable(); // the default, HTTP lookup
        byte[] good = DecodeTaxiEventTableTest.wire(1, DecodeTaxiEventTableTest.trip(DecodeTaxiEventTableTest.V1));
        for (int i = 0; i < 3; i++) {
            Row row = DecodeTaxiEventTableTest.decode(f, good, "avro", url);
            assertNull(row.getField(DecodeTaxiEventTableTest.REASON));
            assertEquals(DecodeTaxiEventTableTest.TRIP_JSON, row.getField(DecodeTaxiEventTableTest.PAYLOAD));
        }
        byte[] unknown = DecodeTaxiEventTableTest.wire(2, DecodeTaxiEventTableTest.trip(DecodeTaxiEventTableTest.V1));
        for (int i = 0; i < 2; i++) {
            assertEquals("avro:unknown_schema_id",
                    DecodeTaxiEventTableTest.decode(f, unknown, "avro", url).getField(DecodeTaxiEventTableTest.REASON));
        }
        assertEquals(1, hits.get("/schemas/ids/1").get());
        assertEquals(1, hits.get("/schemas/ids/2").get());
        byte[] failing = DecodeTaxiEventTableTest.wire(3, DecodeTaxiEventTableTest.trip(DecodeTaxiEventTableTest.V1));
        assertThrows(IllegalStateException.class, () -> f.eval(failing, "avro", url));
    }
}
