package threadline.neo4j;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs an embedded Neo4j Community database that answers Bolt on 127.0.0.1 only.
 *
 * <p>Usage: {@code java -cp "target/classes:target/lib/*" threadline.neo4j.Launcher HOME PORT},
 * with the password of the user {@code neo4j} in the environment variable {@code NEO4J_PASSWORD}
 * (never on the command line, where {@code ps} would show it). tools/neo4j/neo4j.sh calls it.
 *
 * <p>The database is opened twice. The first time without any network connector, only to set the
 * password, so that no client can ever reach the built-in user while it still has its default
 * password. The second time with Bolt on, until the JVM is asked to stop (SIGTERM or SIGINT).
 */
public final class Launcher {

    private static final String SET_PASSWORD =
            "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED";

    private Launcher() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            fail(2, "usage: Launcher HOME PORT (password in the environment variable NEO4J_PASSWORD)");
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.isEmpty()) {
            fail(2, "NEO4J_PASSWORD is not set; the server never starts without a password");
        }

        setPassword(home, password);

        DatabaseManagementService served = configured(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("stopping");
            served.shutdown();
            log("stopped");
            stopped.countDown();
        }, "threadline-neo4j-shutdown"));
        log("ready: Bolt on 127.0.0.1:" + port + ", data in " + home);
        stopped.await();
    }

    /** Opens the store without network connectors and sets the password of the user neo4j. */
    private static void setPassword(Path home, String password) {
        DatabaseManagementService offline = configured(home).build();
        try {
            offline.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME)
                    .executeTransactionally(SET_PASSWORD, Map.of("password", password));
        } catch (RuntimeException e) {
            // A kept store already holding this password refuses to "change" it to itself.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                offline.shutdown();
                fail(1, "could not set the password of the user neo4j: " + e.getMessage());
            }
        }
        offline.shutdown();
    }

    /**
     * Settings shared by both openings: authentication on, a small page cache, no Bolt yet.
     * Netty's quiet period is cut from 5 s to 0: it is waited out once per Bolt connector
     * (TCP and in-process) at shutdown, which made every stop take over 10 s.
     */
    private static DatabaseManagementServiceBuilder configured(Path home) {
        return new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(BoltConnector.enabled, false);
    }

    private static void log(String message) {
        System.out.println("threadline-neo4j: " + message);
        System.out.flush();
    }

    private static void fail(int status, String message) {
        System.err.println("threadline-neo4j: " + message);
        System.exit(status);
    }
}
