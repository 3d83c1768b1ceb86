package dev.starling.examples.tmaze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Function;
import java.util.stream.Collectors;

import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;
import org.junit.jupiter.api.Test;

/** The provider as Starling sees it: found through META-INF/services, definitions checked by create(). */
class TMazeEnvironmentsTest {

    private static Map<String, EnvironmentDefinition> loaded() {
        List<EnvironmentProvider> providers = ServiceLoader.load(EnvironmentProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .toList();
        assertTrue(providers.stream().anyMatch(p -> p instanceof TMazeEnvironments),
                "META-INF/services/dev.starling.env.EnvironmentProvider names TMazeEnvironments: " + providers);
        return providers.stream()
                .flatMap(p -> p.environments().stream())
                .collect(Collectors.toMap(EnvironmentDefinition::name, Function.identity()));
    }

    @Test
    void theServicesFileListsTheProvider() {
        assertEquals(List.of("tmaze", "tmaze-long"),
                new TMazeEnvironments().environments().stream().map(EnvironmentDefinition::name).toList());
        assertEquals(2, loaded().size());
    }

    @Test
    void definitionsCreateInstancesWithTheStatedSpaces() {
        Map<String, EnvironmentDefinition> byName = loaded();
        int[][] expected = {{10, 40}, {30, 120}};
        String[] names = {"tmaze", "tmaze-long"};
        for (int i = 0; i < names.length; i++) {
            EnvironmentDefinition d = byName.get(names[i]);
            assertEquals(Box.of(3), d.observationSpace());
            assertEquals(new Discrete(3), d.actionSpace());
            assertEquals(1.0, d.rewardScale());
            Environment env = d.create(); // throws if an instance's spaces differ from the definition's
            assertNotSame(env, d.create(), "every create() gives a new instance");
            TMaze maze = (TMaze) env;
            assertEquals(expected[i][0], maze.corridorLength(), names[i]);
            assertEquals(expected[i][1], maze.timeLimit(), names[i]);
        }
    }

    @Test
    void eachDefinitionReachesItsStatedOptimum() {
        Map<String, EnvironmentDefinition> byName = loaded();
        assertEquals(0.9, TMazeTest.play((TMaze) byName.get("tmaze").create(), 5, TMazeTest.remembering())
                .totalReward(), 1e-6);
        assertEquals(0.7, TMazeTest.play((TMaze) byName.get("tmaze-long").create(), 5, TMazeTest.remembering())
                .totalReward(), 1e-6);
    }
}
