package dev.mxd.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The scanning engines mxd talks to, by the names the configuration uses. */
public enum Engine {
    /** ClamAV's daemon: viruses, over its INSTREAM command. */
    CLAMD("clamd"),
    /** SpamAssassin's daemon: spam scores, over the SPAMC protocol. */
    SPAMD("spamd"),
    /** Rspamd's normal worker: spam scores and an action, over HTTP /checkv2. */
    RSPAMD("rspamd");

    private final String configName;

    Engine(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /** The engine named {@code name} in the configuration; the message lists the valid names. */
    public static Engine fromConfigName(String name) {
        for (Engine e : values()) {
            if (e.configName.equals(name)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown engine '" + name + "': use one of "
                + Arrays.stream(values()).map(Engine::configName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return configName;
    }
}
