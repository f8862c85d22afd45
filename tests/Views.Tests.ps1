# Format views: the flat listing of items (one greppable line per entry), and views that stay readable at 80 columns.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'

    function Get-Text($Objects, [int] $Width = 80) {
        $rendering = $PSStyle.OutputRendering
        $PSStyle.OutputRendering = 'PlainText'
        try { @($Objects | Out-String -Width $Width -Stream | ForEach-Object TrimEnd) } finally { $PSStyle.OutputRendering = $rendering }
    }

    # The text of one column of a table (from its header's start to the end of each line), lines joined: what a reader of
    # the wrapped column sees.
    function Get-ColumnText([string[]] $Lines, [string] $Header) {
        $head = @($Lines | Where-Object { $_ -match "\b$Header\s*$" })[0]
        $at = $head.LastIndexOf($Header)
        ($Lines | Where-Object { $_.Length -gt $at -and $_ -ne $head -and $_ -notmatch '^-+' } | ForEach-Object { $_.Substring($at).Trim() }) -join ' ' -replace '\s+', ' '
    }
}

Describe 'Get-DaxFsItem | Format-Table -View Flat' {
    It 'prints one line per entry with mode, owner, size and full path, and no Directory: blocks' {
        $items = @(Get-DaxFsItem $Basic -Recurse)
        $lines = @(Get-Text ($items | Format-Table -View Flat) 400 | Where-Object { $_ })
        $lines | Where-Object { $_ -match '^\s*Directory:' } | Should -BeNullOrEmpty
        $lines.Count | Should -Be ($items.Count + 2) -Because 'a header line, a rule line and one line per entry'
        $lines | Should -Contain '-rwsr-xr-x         0/0           10 /suid'
        $lines | Should -Contain 'lrwxrwxrwx         0/0           15 /rel-link -> a/b/c/hello.txt'
        $lines | Should -Contain '-rw-r--r--         0/0         5000 /a/five000'
    }
    It 'turns a filtered listing into lines without a group header per directory' {
        $lines = @(Get-Text (Get-DaxFsItem $Basic -Recurse | Where-Object Size -gt 1000 | Format-Table -View Flat) | Where-Object { $_ })
        $lines | Where-Object { $_ -match 'Directory:' } | Should -BeNullOrEmpty
        @($lines | Select-String -SimpleMatch '/a/five000').Count | Should -Be 1
        @($lines | Select-String -SimpleMatch '/exact4096').Count | Should -Be 1
    }
    It 'keeps the grouped listing as the default view' {
        $text = Get-Text (Get-DaxFsItem $Basic -Recurse) 120
        @($text | Where-Object { $_ -match '^\s*Directory: /a$' }).Count | Should -Be 1
    }
}

Describe 'Get-DaxFsItem | Format-Table -View Flat on format 8' {
    It 'lists what a mount of a format-8 image shows, overlay entries included, one line each' {
        $only = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs'
        $items = @(Get-DaxFsItem $only -Recurse)
        $lines = @(Get-Text ($items | Format-Table -View Flat) 80 | Where-Object { $_ })
        $lines | Where-Object { $_ -match 'Directory:' } | Should -BeNullOrEmpty
        $lines.Count | Should -Be ($items.Count + 2)
        $lines | Should -Contain '-rw-r--r--   1000/1000           44 /docs/readme.txt'
        $lines | Should -Contain 'lrwxrwxrwx         0/0           15 /link-readme -> docs/readme.txt'
        $lines | Should -Contain '-rw-r--r--         0/0        20000 /sub-moved/big.bin'
    }
    It 'lists a format-8 static image as its format-5 twin' {
        $five = Get-Text (Get-DaxFsItem $Basic -Recurse | Format-Table -View Flat) 200
        $eight = Get-Text (Get-DaxFsItem (Join-Path $Vectors 'v8/basic.v8.static.daxfs') -Recurse | Format-Table -View Flat) 200
        $eight | Should -Be $five
    }
}

Describe 'Views at 80 columns' {
    It 'shows every finding message in full, under its image' {
        $damaged = Join-Path $TestDrive 'damaged.daxfs'
        $bytes = [IO.File]::ReadAllBytes($Basic)
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        [IO.File]::WriteAllBytes($damaged, $bytes)
        $findings = @(Test-DaxFsImage $damaged -Detailed)
        $findings.Count | Should -BeGreaterThan 3
        $lines = Get-Text $findings 80
        $lines | Where-Object { $_.Length -gt 80 } | Should -BeNullOrEmpty
        $lines | Should -Contain "   Image: $damaged"
        # The column wraps at its width, inside words too: compare without white space.
        $text = (Get-ColumnText $lines 'Message') -replace '\s+', ''
        foreach ($f in $findings) { $text.Contains(($f.Message -replace '\s+', '')) | Should -BeTrue -Because "'$($f.Message)' is shown in full" }
    }
    It 'puts the findings of several images under a heading each' {
        $a = Join-Path $TestDrive 'one.daxfs'; $b = Join-Path $TestDrive 'two.daxfs'
        $bytes = [IO.File]::ReadAllBytes($Basic)
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        [IO.File]::WriteAllBytes($a, $bytes); [IO.File]::WriteAllBytes($b, $bytes)
        $lines = Get-Text (Test-DaxFsImage $a, $b -Detailed) 80
        ($lines | Where-Object { $_ -match '^\s*Image: ' }) | Should -Be @("   Image: $a", "   Image: $b")
    }
    It 'shows a long image path in full' {
        $dir = Join-Path $TestDrive 'a-rather-long-folder-name-for-images/and-another-level-below-it'
        New-Item -ItemType Directory $dir | Out-Null
        $path = Join-Path $dir 'basic.static.daxfs'
        Copy-Item $Basic $path
        $lines = Get-Text (Get-DaxFsImage $path) 80
        $lines | Where-Object { $_.Length -gt 80 } | Should -BeNullOrEmpty
        (Get-ColumnText $lines 'Path') -replace ' ', '' | Should -Be $path
    }
    It 'shows the image of each Test-DaxFsImage verdict in full' {
        $dir = Join-Path $TestDrive 'a-rather-long-folder-name-for-verdicts/and-another-level-below-it'
        New-Item -ItemType Directory $dir | Out-Null
        $paths = foreach ($n in 'basic.static.daxfs', 'deep.static.daxfs') { $p = Join-Path $dir $n; Copy-Item (Join-Path $Vectors $n) $p; $p }
        $lines = Get-Text (Test-DaxFsImage $paths) 80
        $lines | Where-Object { $_.Length -gt 80 } | Should -BeNullOrEmpty
        $text = (Get-ColumnText $lines 'ImagePath') -replace '\s+', ''
        foreach ($p in $paths) { $text.Contains($p) | Should -BeTrue -Because "'$p' is shown in full" }
    }
    It 'shows every overlay change in full' {
        $changes = @(Compare-DaxFsOverlay (Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs'))
        $lines = Get-Text $changes 80
        $lines | Where-Object { $_.Length -gt 80 } | Should -BeNullOrEmpty
        $text = (Get-ColumnText $lines 'Details') -replace '\s+', ''
        foreach ($c in $changes) { $text.Contains(($c.Details -replace '\s+', '')) | Should -BeTrue -Because "'$($c.Details)' is shown in full" }
    }
    It 'shows every column of the branch table, and branch changes in full' {
        $nested = Join-Path $PSScriptRoot 'fixtures/branches/nested.daxfs'
        $lines = Get-Text (Get-DaxFsBranch $nested) 80
        $lines | Where-Object { $_.Length -gt 80 } | Should -BeNullOrEmpty
        $lines[1] | Should -Match 'Name\s+Id\s+Parent\s+State\s+Gen\s+Refs\s+Log\s+Entries$'
        $lines | Should -Contain 'feature          3 main           Active      0    2   1.4 KiB / 1.0 MiB      28'
        $changes = @(Compare-DaxFsBranch $nested -Branch deep)
        $text = (Get-ColumnText (Get-Text $changes 80) 'Details') -replace '\s+', ''
        foreach ($c in $changes) { $text.Contains(($c.Details -replace '\s+', '')) | Should -BeTrue -Because "'$($c.Details)' is shown in full" }
    }
}
