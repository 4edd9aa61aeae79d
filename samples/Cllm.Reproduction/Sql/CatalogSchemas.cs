using System.Collections.Generic;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// The four synthetic databases: each a parent table and a child table referencing it. Values are single
/// words without apostrophes, so that they copy cleanly from question to SQL.
/// </summary>
internal static class CatalogSchemas
{
    private static readonly string[] People =
    [
        "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
        "Karin", "Leo", "Maria", "Nico", "Olga", "Paul", "Rosa", "Sven", "Tina", "Victor",
        "Alice", "Bruno", "Clara", "Diego", "Emma", "Frank", "Gina", "Henry", "Ida", "Jack",
        "Kate", "Luis", "Mia", "Noah", "Oscar", "Petra", "Quinn", "Ruth", "Sam", "Tom",
        "Ulla", "Vera", "Walter", "Xenia", "Yara", "Zoe", "Adam", "Bella", "Chris", "Dora",
        "Eric", "Fiona", "Gus", "Hanna", "Ivan", "Julia", "Kurt", "Lena", "Max", "Nora",
    ];

    private static readonly string[] Countries = ["France", "Germany", "Italy", "Spain", "Japan", "Brazil", "Canada", "Norway"];

    private static readonly string[] Cities = ["Paris", "Berlin", "Rome", "Madrid", "Oslo", "Lyon", "Porto", "Dublin"];

    private static readonly string[] AlbumTitles =
    [
        "Aurora", "Horizon", "Echoes", "Gravity", "Velvet", "Ember", "Mirage", "Tides", "Solstice", "Lanterns",
        "Orbit", "Harbor", "Meadow", "Static", "Prism", "Cascade", "Nomad", "Ivory", "Thunder", "Willow",
        "Canyon", "Reverie", "Voyage", "Saffron", "Atlas", "Comet", "Driftwood", "Eclipse", "Fable", "Glacier",
        "Halo", "Juniper", "Lullaby", "Monsoon", "Nebula", "Oasis", "Pilgrim", "Quartz", "Ripple", "Sapphire",
        "Tempest", "Umbra", "Vertigo", "Wildfire", "Zenith",
    ];

    private static readonly string[] BookTitles =
    [
        "Ashes", "Bridges", "Citadel", "Dunes", "Empire", "Frontier", "Garden", "Hunger", "Island", "Journey",
        "Kingdom", "Labyrinth", "Mountain", "Northwind", "Ocean", "Passage", "Quest", "River", "Shadows", "Tower",
        "Valley", "Wanderer", "Yesterday", "Archive", "Beacon", "Compass", "Dynasty", "Exile", "Forest", "Granite",
        "Harvest", "Inferno", "Jungle", "Keystone", "Legacy", "Meridian", "Nightfall", "Outpost", "Paradox", "Relic",
        "Summit", "Threshold",
    ];

    /// <summary>The databases in a fixed order.</summary>
    public static IReadOnlyList<DatabaseSchema> All() => [Music(), Company(), Library(), Sports()];

    private static DatabaseSchema Music() => new(
        "music",
        new TableSchema("singer", "singer", "singers", 16,
        [
            ColumnSchema.Key(),
            ColumnSchema.Label("name", "name", "names", People),
            ColumnSchema.Category("country", "country", "countries", Countries),
            ColumnSchema.Measure("age", "age", "ages", 19, 68),
        ]),
        new TableSchema("album", "album", "albums", 40,
        [
            ColumnSchema.Key(),
            ColumnSchema.Reference("singer"),
            ColumnSchema.Label("title", "title", "titles", AlbumTitles),
            ColumnSchema.Category("genre", "genre", "genres", ["Pop", "Rock", "Jazz", "Folk", "Soul"]),
            ColumnSchema.Measure("year", "release year", "release years", 1975, 2023),
        ], parentPreposition: "by"));

    private static DatabaseSchema Company() => new(
        "company",
        new TableSchema("department", "department", "departments", 8,
        [
            ColumnSchema.Key(),
            ColumnSchema.Label("name", "name", "names", ["Sales", "Finance", "Legal", "Research", "Support", "Design", "Marketing", "Logistics"]),
            ColumnSchema.Category("city", "city", "cities", Cities),
            ColumnSchema.Measure("budget", "budget", "budgets", 100, 990, step: 10, summable: true),
        ]),
        new TableSchema("employee", "employee", "employees", 40,
        [
            ColumnSchema.Key(),
            ColumnSchema.Reference("department"),
            ColumnSchema.Label("name", "name", "names", People),
            ColumnSchema.Category("role", "role", "roles", ["Manager", "Engineer", "Analyst", "Clerk", "Designer"]),
            ColumnSchema.Measure("salary", "salary", "salaries", 2000, 9950, step: 50, summable: true),
        ], parentPreposition: "in"));

    private static DatabaseSchema Library() => new(
        "library",
        new TableSchema("author", "author", "authors", 14,
        [
            ColumnSchema.Key(),
            ColumnSchema.Label("name", "name", "names", People),
            ColumnSchema.Category("country", "country", "countries", Countries),
            ColumnSchema.Measure("born", "birth year", "birth years", 1920, 1995),
        ]),
        new TableSchema("book", "book", "books", 36,
        [
            ColumnSchema.Key(),
            ColumnSchema.Reference("author"),
            ColumnSchema.Label("title", "title", "titles", BookTitles),
            ColumnSchema.Category("genre", "genre", "genres", ["Novel", "Poetry", "History", "Science", "Drama"]),
            ColumnSchema.Measure("pages", "number of pages", "numbers of pages", 90, 900, step: 5, summable: true),
        ], parentPreposition: "by"));

    private static DatabaseSchema Sports() => new(
        "sports",
        new TableSchema("team", "team", "teams", 10,
        [
            ColumnSchema.Key(),
            ColumnSchema.Label("name", "name", "names", ["Lions", "Eagles", "Wolves", "Sharks", "Bears", "Falcons", "Tigers", "Hawks", "Rangers", "Comets"]),
            ColumnSchema.Category("city", "city", "cities", Cities),
            ColumnSchema.Measure("founded", "founding year", "founding years", 1880, 2010),
        ]),
        new TableSchema("player", "player", "players", 40,
        [
            ColumnSchema.Key(),
            ColumnSchema.Reference("team"),
            ColumnSchema.Label("name", "name", "names", People),
            ColumnSchema.Category("position", "position", "positions", ["Forward", "Midfielder", "Defender", "Goalkeeper"]),
            ColumnSchema.Measure("goals", "number of goals", "numbers of goals", 0, 150, summable: true),
        ], parentPreposition: "of"));
}
