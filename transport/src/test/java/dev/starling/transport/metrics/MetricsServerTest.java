package dev.starling.transport.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/** The metrics endpoint is read-only: GET and HEAD on exactly /metrics, nothing else. */
class MetricsServerTest {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void answersOnlyGetAndHeadOnMetricsAndChangesNothing() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter counter = registry.counter("starling.test.events");
        counter.increment(3);
        try (MetricsServer server = new MetricsServer(0, registry)) {
            String base = "http://localhost:" + server.port();

            HttpResponse<String> get = send(base + "/metrics", "GET");
            assertEquals(200, get.statusCode());
            assertTrue(get.body().contains("starling_test_events_total 3.0"), get.body());
            assertTrue(get.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));

            HttpResponse<String> head = send(base + "/metrics", "HEAD");
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());

            for (String method : List.of("POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
                HttpResponse<String> r = send(base + "/metrics", method);
                assertEquals(405, r.statusCode(), method);
                assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElse(""), method);
            }
            for (String path : List.of("/", "/metricsx", "/metrics/", "/metrics/../admin", "/admin", "/debug/pprof")) {
                assertEquals(404, send(base + path, "GET").statusCode(), path);
                assertEquals(404, send(base + path, "POST").statusCode(), path);
            }
            // A query string does not change the path, and nothing sent altered the registry.
            assertEquals(200, send(base + "/metrics?name=x", "GET").statusCode());
            assertEquals(3.0, counter.count());
            assertTrue(send(base + "/metrics", "GET").body().contains("starling_test_events_total 3.0"));
        }
    }

    private HttpResponse<String> send(String uri, String method) throws Exception {
        HttpRequest.BodyPublisher body = method.equals("GET") || method.equals("HEAD")
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("starling_test_events_total 99");
        return http.send(HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(5)).method(method, body).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
